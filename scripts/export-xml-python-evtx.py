#!/usr/bin/env python3
"""Export EVTX files to event XML the way Windows writes it, using python-evtx, a parser
independent of the `evtx` crate kmslens uses.

python-evtx renders a classic event's string-array substitution as one <Data> holding escaped
<string> items and SystemTime as "YYYY-MM-DD hh:mm:ss.ffffff+00:00"; this script rewrites both to
what `wevtutil qe /f:xml` and Event Viewer give (one <Data> per string, 7-digit UTC fraction), and
writes either shape:

  wevtutil  : a stream of <Event> elements without a root, single-quoted attributes, UTF-8
  viewer    : <?xml ...?><Events> root, double-quoted attributes, UTF-16LE with BOM

It first checks what python-evtx can check: the file header (magic, version, CRC32), each
chunk's header and data CRC32s, each record's two size fields; any failure exits 1.

usage: export-xml-python-evtx.py (wevtutil|viewer) IN.evtx OUT.xml
"""
import re
import sys
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

import Evtx.Evtx as evtx

NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"


def attr(value, quote):
    if quote == "'":
        return "'" + escape(value, {"'": "&apos;"}) + "'"
    return quoteattr(value)


def element(el, quote):
    tag = el.tag.replace(NS, "")
    attrs = "".join(f" {k}={attr(v, quote)}" for k, v in el.attrib.items() if v != "")
    children = list(el)
    text = el.text or ""
    if tag == "TimeCreated" and "SystemTime" in el.attrib:
        t = el.attrib["SystemTime"]
        m = re.match(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))?", t)
        frac = (m.group(3) or "").ljust(7, "0")[:7]
        attrs = f" SystemTime={attr(f'{m.group(1)}T{m.group(2)}.{frac}Z', quote)}"
    if tag == "Data" and "<string>" in text:
        items = re.findall(r"<string>(.*?)</string>", text, re.S)
        name = "".join(f" {k}={attr(v, quote)}" for k, v in el.attrib.items())
        return "".join(f"<Data{name}>{escape(i)}</Data>" for i in items)
    if tag == "Data":
        text = text.strip("\n")
    if not children and not text.strip():
        # python-evtx renders an optional substitution that is null as an empty element;
        # Windows leaves such an element out.
        if tag in ("Data", "Binary"):
            return ""
        return f"<{tag}{attrs}/>"
    inner = escape(text.strip("\n") if children else text) + "".join(element(c, quote) for c in children)
    return f"<{tag}{attrs}>{inner}</{tag}>"


def main():
    shape, src, dst = sys.argv[1:4]
    quote = "'" if shape == "wevtutil" else '"'
    events = []
    with evtx.Evtx(src) as log:
        problems = []
        fh = log.get_file_header()
        if not fh.verify():
            problems.append("file header does not verify (magic, version 3.1, block size, CRC32)")
        for n, chunk in enumerate(fh.chunks()):
            if not chunk.verify():
                problems.append(f"chunk {n}: header or data CRC32 mismatch")
            for record in chunk.records():
                if not record.verify():
                    problems.append(f"record {record.record_num()}: size fields differ")
        if problems:
            sys.exit(f"{src}: " + "; ".join(problems))
        for record in log.records():
            root = ET.fromstring(record.xml())
            body = "".join(element(c, quote) for c in root)
            events.append(f"<Event xmlns={attr(NS[1:-1], quote)}>{body}</Event>")
    if shape == "wevtutil":
        with open(dst, "w", encoding="utf-8", newline="") as f:
            f.write("\r\n".join(events) + "\r\n")
    else:
        text = '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\r\n<Events>\r\n' + "\r\n".join(events) + "\r\n</Events>\r\n"
        with open(dst, "wb") as f:
            f.write(b"\xff\xfe" + text.encode("utf-16-le"))
    print(f"{dst}: {len(events)} events")


if __name__ == "__main__":
    main()

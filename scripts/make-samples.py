#!/usr/bin/env python3
"""Writes samples/: a small support bundle, every event spelled out below following
../shared/docs/kms-reference.md (layouts §4, export shapes §9.4). Deterministic; run from the
repository root. The scenario (contoso.com, one KMS host, five Windows 10/11 clients):

* kms01 publishes its SRV record: 12293 (0x80072338, DNS signature / ACL on _VLMCS) and no 12294.
* PC01 to PC04 reach the host (request 12288, host 12290, response 12289), but the host count
  stays at 3, under the 25 a client OS needs, so they stay unactivated with 0xC004F038.
* PC03 and PC04 were cloned without sysprep: they share one CMID, so the host counts them once.
* PC05 sends requests that never reach the host and never get a response (TCP 1688 blocked).
PC02's folder arrives zipped; the host's KMS log was saved from Event Viewer as UTF-16LE.
"""
import io
import os
import zipfile
from datetime import datetime, timedelta

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SPP = ("Microsoft-Windows-Security-SPP", "{E23B33B0-C8C9-472C-A5F9-F2BDFEA0F156}")
WIN10_ENT = "73111121-5638-40f6-bc11-f1d7b0d64300"  # Windows 10/11 Enterprise GVLK ActID (N-Policy 25)


def event(q, eid, qual, when, rid, channel, computer, data, source="Software Protection Platform Service", level=4):
    t = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}0Z"
    datas = "".join(f"<Data>{d}</Data>" for d in data)
    return (
        f"<Event xmlns={q}{NS}{q}><System><Provider Name={q}{SPP[0]}{q} Guid={q}{SPP[1]}{q} EventSourceName={q}{source}{q}/>"
        f"<EventID Qualifiers={q}{qual}{q}>{eid}</EventID><Version>0</Version><Level>{level}</Level><Task>0</Task><Opcode>0</Opcode>"
        f"<Keywords>0x80000000000000</Keywords><TimeCreated SystemTime={q}{t}{q}/><EventRecordID>{rid}</EventRecordID>"
        f"<Correlation/><Execution ProcessID={q}0{q} ThreadID={q}0{q}/><Channel>{channel}</Channel><Computer>{computer}</Computer><Security/></System>"
        f"<EventData>{datas}</EventData></Event>"
    )


def ctime(when):
    return when.strftime("%Y/%m/%d %H:%M")


def htime(when):
    return f"{when.year}/{when.month}/{when.day} {when.hour}:{when.minute:02d}"


class Client:
    def __init__(self, name, cmid, first_rid):
        self.name, self.cmid, self.rid, self.events = name, cmid, first_rid, []

    def request(self, q, when, hr, status, minutes):
        info = f"{hr}, 0x00000000, kms01.contoso.com:1688, {self.cmid}, {ctime(when)}, 0, {status}, {minutes}, {WIN10_ENT}, 25"
        self.events.append(event(q, 12288, 16384, when, self.rid, "Application", self.name, [info]))
        self.rid += 1

    def response(self, q, when, activated, count):
        info = f"0x00000000, 0x00000000, {activated}, 0, {count}, 120, 10080, {ctime(when)}"
        self.events.append(event(q, 12289, 16384, when, self.rid, "Application", self.name, [info]))
        self.rid += 1


def main():
    out = "samples"
    os.makedirs(out, exist_ok=True)
    start = datetime(2026, 11, 2, 8, 0, 5, 120000)
    host_q, client_q = '"', "'"
    host_events, host_rid = [], 5000
    host_app = [
        event(host_q, 902, 16384, start - timedelta(minutes=1), 7100, "Application", "kms01.contoso.com", ["10.0.20348.1"], level=0),
        event(host_q, 12293, 16384, start, 7101, "Application", "kms01.contoso.com", ["0x80072338", "contoso.com"]),
        event(host_q, 12293, 16384, start + timedelta(days=1), 7140, "Application", "kms01.contoso.com", ["0x80072338", "contoso.com"]),
    ]
    clients = {
        "PC01.contoso.com": Client("PC01.contoso.com", "0f1e2d3c-4b5a-4697-8877-aa00bb11cc01", 2100),
        "PC02.contoso.com": Client("PC02.contoso.com", "0f1e2d3c-4b5a-4697-8877-aa00bb11cc02", 3300),
        # Cloned image: PC03 and PC04 share one CMID.
        "PC03.contoso.com": Client("PC03.contoso.com", "9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4", 1200),
        "PC04.contoso.com": Client("PC04.contoso.com", "9d8c7b6a-5f4e-4d3c-8b2a-19f8e7d6c5b4", 1250),
        "PC05.contoso.com": Client("PC05.contoso.com", "0f1e2d3c-4b5a-4697-8877-aa00bb11cc05", 880),
    }
    minutes_left = {name: 43000 for name in clients}
    for day in range(3):
        for i, (name, c) in enumerate(clients.items()):
            when = start + timedelta(days=day, hours=1 + i, minutes=7 * i)
            minutes_left[name] -= 1440
            if name == "PC05.contoso.com":
                # Blocked on 1688: the request leaves, nothing comes back, the host never sees it.
                c.request(client_q, when, "0xC004F074", 2, minutes_left[name])
                continue
            c.request(client_q, when, "0xC004F038", 2, minutes_left[name])
            host_when = when + timedelta(seconds=1, microseconds=250000)
            short = name.split(".")[0] if name == "PC02.contoso.com" else name
            info = ["0x0", "25", short, c.cmid, htime(when), "0", "2", str(minutes_left[name]), WIN10_ENT]
            host_events.append(event(host_q, 12290, 16384, host_when, host_rid, "Key Management Service", "kms01.contoso.com", [",".join(info)] + info, source="KmsRequests"))
            host_rid += 1
            c.response(client_q, when + timedelta(seconds=2), 0, 3)

    def write_stream(path, events, encoding="utf-8"):
        text = "\r\n".join(events) + "\r\n"
        with open(path, "wb") as f:
            f.write(b"\xff\xfe" + text.encode("utf-16-le") if encoding == "utf-16" else text.encode("utf-8"))

    def write_viewer(path, events):
        text = '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\r\n<Events>\r\n' + "\r\n".join(events) + "\r\n</Events>\r\n"
        with open(path, "wb") as f:
            f.write(b"\xff\xfe" + text.encode("utf-16-le"))

    os.makedirs(f"{out}/kms01", exist_ok=True)
    write_viewer(f"{out}/kms01/Key Management Service.xml", host_events)
    write_stream(f"{out}/kms01/Application.xml", host_app)
    for name, c in clients.items():
        short = name.split(".")[0]
        if short == "PC02":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr(zipfile.ZipInfo(f"{short}/Application.xml", (2026, 11, 5, 9, 0, 0)), "\r\n".join(c.events) + "\r\n")
            with open(f"{out}/{short}.zip", "wb") as f:
                f.write(buf.getvalue())
            continue
        os.makedirs(f"{out}/{short}", exist_ok=True)
        # PowerShell `wevtutil qe Application /f:xml > app.xml` writes UTF-16LE with BOM.
        write_stream(f"{out}/{short}/Application.xml", c.events, "utf-16" if short == "PC04" else "utf-8")
    print("samples written")


if __name__ == "__main__":
    main()

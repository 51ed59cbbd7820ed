//! Value formats inside `Info` strings (§4.4, §4.5).

use jiff::Timestamp;
use jiff::civil::DateTime;
use std::fmt;

/// License status enum of 12288 field 6 and 12290 Data[7] (§4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LicenseStatus {
    Unlicensed,
    Licensed,
    InitialGrace,
    AdditionalGrace,
    NonGenuineGrace,
    Notification,
    ExtendedGrace,
    Unknown(u32),
}

impl LicenseStatus {
    pub fn from_code(code: u32) -> LicenseStatus {
        match code {
            0 => Self::Unlicensed,
            1 => Self::Licensed,
            2 => Self::InitialGrace,
            3 => Self::AdditionalGrace,
            4 => Self::NonGenuineGrace,
            5 => Self::Notification,
            6 => Self::ExtendedGrace,
            n => Self::Unknown(n),
        }
    }

    pub fn code(self) -> u32 {
        match self {
            Self::Unlicensed => 0,
            Self::Licensed => 1,
            Self::InitialGrace => 2,
            Self::AdditionalGrace => 3,
            Self::NonGenuineGrace => 4,
            Self::Notification => 5,
            Self::ExtendedGrace => 6,
            Self::Unknown(n) => n,
        }
    }

    /// The wording `slmgr /dlv` uses (§7.1).
    pub fn name(self) -> &'static str {
        match self {
            Self::Unlicensed => "Unlicensed",
            Self::Licensed => "Licensed",
            Self::InitialGrace => "Initial grace period",
            Self::AdditionalGrace => "Additional grace period",
            Self::NonGenuineGrace => "Non-genuine grace period",
            Self::Notification => "Notification",
            Self::ExtendedGrace => "Extended grace period",
            Self::Unknown(_) => "Unknown",
        }
    }
}

/// `str::trim`, with a fast way out for text that starts and ends with a printable ASCII
/// character (nothing to trim): the fields of every kept record are trimmed several times over.
#[inline]
pub fn trimmed(s: &str) -> &str {
    let printable = |b: Option<&u8>| b.is_some_and(|b| (0x21..0x7F).contains(b));
    let b = s.as_bytes();
    if b.is_empty() || printable(b.first()) && printable(b.last()) {
        s
    } else {
        s.trim()
    }
}

/// A client machine id or activation id: a GUID as the 16 bytes of its text, in text order (so it
/// sorts as its text does). 16 bytes inline, byte-aligned: every kept event carries one or two.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid([u8; 16]);

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

impl Guid {
    /// Where each byte's two digits are in the text, between the dashes.
    const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, with or without braces, any case.
    pub fn parse(text: &str) -> Option<Guid> {
        let t = trimmed(text);
        let t = t
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap_or(t);
        let b = t.as_bytes();
        if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
            return None;
        }
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        let mut out = [0u8; 16];
        for (byte, at) in out.iter_mut().zip(Self::AT) {
            *byte = digit(b[at])? << 4 | digit(b[at + 1])?;
        }
        Some(Guid(out))
    }

    /// The lower-case text, on the stack.
    pub fn text(&self) -> AsciiText<36> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = AsciiText::<36>::filled(b'-');
        for (b, at) in self.0.iter().zip(Self::AT) {
            out.bytes[at] = HEX[usize::from(b >> 4)];
            out.bytes[at + 1] = HEX[usize::from(b & 0xF)];
        }
        out
    }
}

/// Short ASCII text on the stack (a GUID, an HRESULT, a time), usable as a `&str`: how values
/// are shown, without a `String` or the formatting machinery per value.
#[derive(Clone, Copy)]
pub struct AsciiText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> AsciiText<N> {
    fn filled(b: u8) -> Self {
        AsciiText {
            bytes: [b; N],
            len: N,
        }
    }

    /// `v` in decimal, zero-padded to the `width` digits from `at`.
    fn put_digits(&mut self, at: usize, width: usize, mut v: u32) {
        for slot in self.bytes[at..at + width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
}

impl<const N: usize> std::ops::Deref for AsciiText<N> {
    type Target = str;
    fn deref(&self) -> &str {
        // Only ASCII is written into `bytes`.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// `0x` and eight upper-case hex digits: how HRESULTs and status flags are shown.
pub fn hex_word(v: u32) -> AsciiText<10> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = AsciiText::<10>::filled(b'0');
    out.bytes[1] = b'x';
    for (i, slot) in out.bytes[2..].iter_mut().enumerate() {
        *slot = HEX[(v >> (28 - 4 * i) & 0xF) as usize];
    }
    out
}

/// A timestamp as jiff shows it in UTC (`2026-10-01T06:00:01.421Z`: a fraction without trailing
/// zeros, none when whole), for years 1 to 9999; `None` outside them.
pub fn utc_text(ts: Timestamp) -> Option<AsciiText<30>> {
    let dt = jiff::tz::Offset::UTC.to_datetime(ts);
    let year = u32::try_from(dt.year())
        .ok()
        .filter(|y| (1..=9999).contains(y))?;
    let two = |v: i8| u32::from(v.unsigned_abs());
    let mut out = AsciiText::<30>::filled(b'-');
    out.put_digits(0, 4, year);
    out.put_digits(5, 2, two(dt.month()));
    out.put_digits(8, 2, two(dt.day()));
    out.bytes[10] = b'T';
    out.put_digits(11, 2, two(dt.hour()));
    out.bytes[13] = b':';
    out.put_digits(14, 2, two(dt.minute()));
    out.bytes[16] = b':';
    out.put_digits(17, 2, two(dt.second()));
    let mut len = 19;
    let nanos = dt.subsec_nanosecond().unsigned_abs();
    if nanos != 0 {
        out.bytes[19] = b'.';
        out.put_digits(20, 9, nanos);
        len = 29;
        while out.bytes[len - 1] == b'0' {
            len -= 1;
        }
    }
    out.bytes[len] = b'Z';
    out.len = len + 1;
    Some(out)
}

impl serde::Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// `host:port` of 12288 field 2, split on the last `:` (IPv6 literals come in brackets).
pub fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    match t.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.ends_with(':') => {
            let port = port.trim().parse::<u16>().ok()?;
            let host = host.trim().trim_start_matches('[').trim_end_matches(']');
            Some((host, Some(port)))
        }
        _ => Some((t, None)),
    }
}

/// The minute-precision timestamps of Info strings (§4.5): `2010/09/29 17:52`, `2010/9/29 21:46`,
/// `2006/1/14 2:30`, and the doc-only `1/14/2006 2:30`; seconds and AM/PM are tolerated. The zone
/// is not written; KMS compares times in UTC (KB 974998) and the real 12288s of §12 match their
/// UTC `TimeCreated`, so the value is read as UTC.
pub fn parse_client_time(text: &str) -> Option<Timestamp> {
    let t = trimmed(text);
    if let Some([y, m, d, h, min, s]) = iso_like_clock(t.as_bytes()) {
        let dt = DateTime::new(y as i16, m as i8, d as i8, h as i8, min as i8, s as i8, 0).ok()?;
        return jiff::tz::Offset::UTC.to_timestamp(dt).ok();
    }
    any_client_time(t)
}

/// Every shape `parse_client_time` takes (the text trimmed).
fn any_client_time(t: &str) -> Option<Timestamp> {
    let (date, rest) = t.split_once(' ')?;
    let num = |p: &str| p.parse::<i32>().ok();
    let mut parts = date.split('/');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (y, m, d) = match (a.len(), c.len()) {
        (4, _) => (num(a)?, num(b)?, num(c)?),
        (_, 4) => (num(c)?, num(a)?, num(b)?),
        _ => return None,
    };
    let rest = rest.trim();
    let (clock, meridiem) = match rest.rsplit_once(' ') {
        Some((c, ampm)) => (c.trim(), Some(ampm.trim())),
        None => (rest, None),
    };
    let mut hms = clock.split(':').map(num);
    let (mut h, min) = (hms.next()??, hms.next()??);
    let s = match hms.next() {
        None => 0,
        Some(s) => s?,
    };
    if hms.next().is_some() {
        return None;
    }
    let am = |x: &str| x.eq_ignore_ascii_case("AM");
    let pm = |x: &str| x.eq_ignore_ascii_case("PM");
    match meridiem {
        None => {}
        Some(x) if am(x) && h == 12 => h = 0,
        Some(x) if am(x) => {}
        Some(x) if pm(x) && h < 12 => h += 12,
        Some(x) if pm(x) => {}
        Some(_) => return None,
    }
    let dt = DateTime::new(
        i16::try_from(y).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(d).ok()?,
        i8::try_from(h).ok()?,
        i8::try_from(min).ok()?,
        i8::try_from(s).ok()?,
        0,
    )
    .ok()?;
    jiff::tz::Offset::UTC.to_timestamp(dt).ok()
}

/// The parts of `yyyy/M/d H:mm` or `yyyy/M/d H:mm:ss`, the shape Windows writes (§4.5), read
/// without splitting and parsing each part: the general path of `parse_client_time` gives the
/// same values for this shape.
fn iso_like_clock(b: &[u8]) -> Option<[u16; 6]> {
    let number = |digits: &[u8]| {
        digits
            .iter()
            .fold(0u16, |n, c| n * 10 + u16::from(c - b'0'))
    };
    // Year, month, day, hour, minute: the fewest and most digits of each, the byte after it.
    const PARTS: [(usize, usize, u8); 5] = [
        (4, 4, b'/'),
        (1, 2, b'/'),
        (1, 2, b' '),
        (1, 2, b':'),
        (2, 2, b':'),
    ];
    let mut out = [0u16; 6];
    let mut rest = b;
    for (i, (least, most, end)) in PARTS.into_iter().enumerate() {
        let n = rest
            .iter()
            .take(most)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if n < least {
            return None;
        }
        out[i] = number(&rest[..n]);
        rest = &rest[n..];
        match rest.split_first() {
            Some((c, r)) if *c == end => rest = r,
            // No seconds.
            None if i == PARTS.len() - 1 => return Some(out),
            _ => return None,
        }
    }
    if rest.len() == 2 && rest.iter().all(u8::is_ascii_digit) {
        out[5] = number(rest);
        return Some(out);
    }
    None
}

/// Status flags of 12288/12289 field 1 (§4.4), kept as raw bits and shown as hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusFlags(pub u32);

impl StatusFlags {
    /// `0x00000008`: how reports and rows show the flags.
    pub fn text(self) -> AsciiText<10> {
        hex_word(self.0)
    }

    pub const OTHER_PC: u32 = 0x8;
    pub const NO_BINDING_SERVER_REGISTRATION: u32 = 0x0100_0000;
    pub const INVALID_REGISTRATION_DATA_TYPE: u32 = 0x0200_0000;
    pub const NOT_ENOUGH_COUNT: u32 = 0x0400_0000;
    pub const NOT_WINDOWS_SLP: u32 = 0x0800_0000;

    pub fn parse(text: &str) -> Option<StatusFlags> {
        let t = trimmed(text);
        let hex = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))?;
        u32::from_str_radix(hex, 16).ok().map(StatusFlags)
    }
}

impl fmt::Display for StatusFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn client_times_in_every_documented_shape() {
        assert_eq!(
            parse_client_time("2010/09/29 17:52"),
            Some(ts("2010-09-29T17:52:00Z"))
        );
        assert_eq!(
            parse_client_time("2010/9/29 21:46"),
            Some(ts("2010-09-29T21:46:00Z"))
        );
        assert_eq!(
            parse_client_time("2006/1/14 2:30"),
            Some(ts("2006-01-14T02:30:00Z"))
        );
        assert_eq!(
            parse_client_time("1/14/2006 2:30"),
            Some(ts("2006-01-14T02:30:00Z"))
        );
        assert_eq!(
            parse_client_time("4/10/2018 10:21:00 PM"),
            Some(ts("2018-04-10T22:21:00Z"))
        );
        assert_eq!(
            parse_client_time("4/10/2018 12:05:09 am"),
            Some(ts("2018-04-10T00:05:09Z"))
        );
        assert_eq!(
            parse_client_time("4/10/2018 12:05 PM"),
            Some(ts("2018-04-10T12:05:00Z"))
        );
        assert_eq!(parse_client_time("<DateTime>"), None);
        assert_eq!(parse_client_time("2010/13/29 17:52"), None);
        assert_eq!(parse_client_time("2010/1/2/3 17:52"), None);
        assert_eq!(parse_client_time("2010/1 17:52"), None);
        assert_eq!(parse_client_time("10/1/29 17:52"), None);
        assert_eq!(parse_client_time("2010/1/2 17"), None);
        assert_eq!(parse_client_time("2010/1/2 17:52:00:01"), None);
        assert_eq!(parse_client_time("2010/1/2 5:52 XM"), None);
        assert_eq!(parse_client_time(""), None);
    }

    /// The shape read without splitting gives what the general path gives, and every other text
    /// still reaches the general path.
    #[test]
    fn client_times_read_fast_as_the_general_path_reads_them() {
        let texts = [
            "2026/10/1 6:00",
            "2026/10/01 06:00",
            "2026/1/9 23:59:59",
            "2026/2/30 6:00",
            "2026/10/1 24:00",
            "2026/10/1 6:0",
            "2026/10/1 6:00:5",
            "2026/10/1 123:00",
            "20261/10/1 6:00",
            "2026/100/1 6:00",
            "2026/10/1  6:00",
            "2026/10/1 6:00 PM",
            "2026/10/1 6:00:00:00",
            "2026/10/1 6:00:",
            "2026/10/1 6:",
            "2026/10/1",
            "2026/10/1 6:00x",
            "10/1/2026 6:00",
            " 2026/10/1 6:00\r\n",
            "2026/10/1\t6:00",
        ];
        for t in texts {
            assert_eq!(parse_client_time(t), any_client_time(t.trim()), "{t:?}");
        }
        assert_eq!(
            iso_like_clock(b"2026/10/1 6:00"),
            Some([2026, 10, 1, 6, 0, 0])
        );
        assert_eq!(
            iso_like_clock(b"2026/1/9 23:59:58"),
            Some([2026, 1, 9, 23, 59, 58])
        );
        assert_eq!(iso_like_clock(b"10/1/2026 6:00"), None);
        assert_eq!(iso_like_clock(b"2026/10/1 6:00 PM"), None);
    }

    #[test]
    fn trimmed_is_str_trim() {
        for t in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\r\n",
            "0x0",
            "\u{a0}x",
            "x\u{a0}",
            "\u{85}",
            "é",
            "a b",
            "\u{3000}x\u{3000}",
            "~",
            "!",
        ] {
            assert_eq!(trimmed(t), t.trim(), "{t:?}");
        }
    }

    /// The stack texts show values exactly as `Display` and jiff do.
    #[test]
    fn ascii_texts_match_the_formatters() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for v in [0, 1, 0x8, 0xC004_F038, u32::MAX] {
            assert_eq!(&*hex_word(v), format!("0x{v:08X}"));
        }
        let nanos = [0, 1, 10, 100_000_000, 120_000_000, 421_000_000, 999_999_999];
        for i in 0..20_000u64 {
            let v = next();
            assert_eq!(&*hex_word(v as u32), format!("0x{:08X}", v as u32));
            let g = u128::from(v) << 64 | u128::from(next());
            let hex = format!("{g:032x}");
            let text = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            );
            let guid = Guid(g.to_be_bytes());
            assert_eq!(&*guid.text(), text);
            assert_eq!(Guid::parse(&text.to_uppercase()), Some(guid));
            // Years 1 to 9999, and whole seconds, round fractions and any fraction.
            let secs = (v % 315_537_897_600) as i64 - 62_135_596_800;
            let nano = if i % 2 == 0 {
                nanos[(v % 7) as usize]
            } else {
                (v >> 33) as i32 % 1_000_000_000
            };
            let ts = Timestamp::new(secs, nano).unwrap();
            assert_eq!(utc_text(ts).as_deref(), Some(ts.to_string().as_str()));
        }
        assert!(utc_text(Timestamp::MIN).is_none());
        let max = Timestamp::MAX;
        assert_eq!(utc_text(max).as_deref(), Some(max.to_string().as_str()));
        assert_eq!(
            utc_text(Timestamp::UNIX_EPOCH).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
    }

    #[test]
    fn host_and_port() {
        assert_eq!(
            split_host_port("kms01.contoso.com:1688"),
            Some(("kms01.contoso.com", Some(1688)))
        );
        assert_eq!(
            split_host_port("169.254.169.251:1688"),
            Some(("169.254.169.251", Some(1688)))
        );
        assert_eq!(
            split_host_port("[fe80::1]:1688"),
            Some(("fe80::1", Some(1688)))
        );
        assert_eq!(split_host_port("kms01"), Some(("kms01", None)));
        assert_eq!(split_host_port("kms01:port"), None);
        assert_eq!(split_host_port(" "), None);
    }

    #[test]
    fn guids_are_normalized() {
        let g = Guid::parse("{68531FB9-5511-4989-97BE-D11A0F55633F}").unwrap();
        assert_eq!(&*g.text(), "68531fb9-5511-4989-97be-d11a0f55633f");
        assert_eq!(Guid::parse(&g.to_string()), Some(g));
        assert_eq!(
            Guid::parse("00000000-0000-0000-0000-00000000000F")
                .unwrap()
                .to_string(),
            "00000000-0000-0000-0000-00000000000f"
        );
        assert!(
            Guid::parse("0fffffff-ffff-ffff-ffff-ffffffffffff")
                < Guid::parse("10000000-0000-0000-0000-000000000000")
        );
        assert_eq!(Guid::parse("68531fb9-5511-4989-97be-d11a0f55633+"), None);
        assert_eq!(Guid::parse("<CMID>"), None);
        assert_eq!(Guid::parse(".......-b604-4b8c-9a48-99d4348fcf37"), None);
    }

    #[test]
    fn license_status_names() {
        assert_eq!(LicenseStatus::from_code(5), LicenseStatus::Notification);
        assert_eq!(LicenseStatus::from_code(9).code(), 9);
    }
}

/// The identity of a machine across logs: clients and hosts name themselves and each other as
/// FQDN, NetBIOS name, upper or lower case, with or without a trailing dot. The identity is the
/// lower-case first label (`PC02.contoso.com.` → `pc02`); IP addresses are kept whole.
pub fn machine_id(name: &str) -> String {
    let n = name.trim().trim_end_matches('.');
    // Only a name of digits and dots, or with a colon or bracket, can be an address (called for
    // every row of every table: no parse attempt for the names of machines).
    let maybe_ip = n.contains([':', '[']) || n.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if maybe_ip && let Some(ip) = ip_literal(n) {
        return ip.to_ascii_lowercase();
    }
    n.split('.').next().unwrap_or_default().to_ascii_lowercase()
}

/// The address of a name that is an IP address (IPv6 with or without brackets).
fn ip_literal(name: &str) -> Option<&str> {
    let n = name.trim_start_matches('[').trim_end_matches(']');
    n.parse::<std::net::IpAddr>().is_ok().then_some(n)
}

/// The DNS domain of a machine name (`PC02.corp.contoso.com` → `corp.contoso.com`): where it looks
/// up `_vlmcs._tcp`. None for a bare name or an IP address.
pub fn machine_domain(name: &str) -> Option<String> {
    let n = domain_id(name);
    if ip_literal(&n).is_some() {
        return None;
    }
    n.split_once('.')
        .map(|(_, d)| d.to_string())
        .filter(|d| !d.is_empty())
}

/// A DNS domain as compared: lower case, no trailing dot.
pub fn domain_id(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn machine_names_normalize_once() {
        assert_eq!(machine_id("PC02.contoso.com."), "pc02");
        assert_eq!(machine_id("pc02"), "pc02");
        assert_eq!(machine_id(" KMS01.Contoso.COM "), "kms01");
        assert_eq!(machine_id("169.254.169.251"), "169.254.169.251");
        assert_eq!(machine_id("[fe80::1]"), "fe80::1");
        assert_eq!(domain_id("Contoso.com."), "contoso.com");
        assert_eq!(
            machine_domain("PC02.Corp.Contoso.com.").as_deref(),
            Some("corp.contoso.com")
        );
        assert_eq!(machine_domain("pc02"), None);
        assert_eq!(machine_domain("10.0.0.2"), None);
    }
}

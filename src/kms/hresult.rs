use std::fmt;

/// A Windows HRESULT, shown the way Windows prints it in activation events: `0xC004F074`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hresult(pub u32);

impl Hresult {
    pub const S_OK: Hresult = Hresult(0);

    /// `0xC004F074`: how reports and rows show it.
    pub fn text(self) -> super::values::AsciiText<10> {
        super::values::hex_word(self.0)
    }

    /// Parses the forms found in events and typed by admins: `0x0`, `0x00000000`, `0xC004F074`,
    /// `hr=0x800704CF` (8198/8200), `C004F074`, and the signed decimal form (`-1073418124`).
    pub fn parse(text: &str) -> Option<Hresult> {
        let t = super::values::trimmed(text);
        let t = match t.strip_prefix("hr=") {
            Some(rest) => rest.trim(),
            None => t,
        };
        if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            if hex.is_empty() || hex.len() > 8 {
                return None;
            }
            return u32::from_str_radix(hex, 16).ok().map(Hresult);
        }
        if let Ok(n) = t.parse::<i32>() {
            return Some(Hresult(n as u32));
        }
        if t.len() == 8 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return u32::from_str_radix(t, 16).ok().map(Hresult);
        }
        None
    }

    pub fn is_success(self) -> bool {
        // Severity bit clear: S_OK and informational codes such as 0x4004F040.
        self.0 & 0x8000_0000 == 0
    }
}

impl fmt::Display for Hresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_found_in_events() {
        assert_eq!(Hresult::parse("0x0"), Some(Hresult(0)));
        assert_eq!(Hresult::parse("0x00000000"), Some(Hresult(0)));
        assert_eq!(Hresult::parse("0xC004F06C"), Some(Hresult(0xC004_F06C)));
        assert_eq!(Hresult::parse("0xc004f06c"), Some(Hresult(0xC004_F06C)));
        assert_eq!(Hresult::parse("hr=0x800704CF"), Some(Hresult(0x8007_04CF)));
        assert_eq!(Hresult::parse("C004F074"), Some(Hresult(0xC004_F074)));
        assert_eq!(Hresult::parse("-1073418124"), Some(Hresult(0xC004_F074)));
        assert_eq!(Hresult::parse("0x"), None);
        assert_eq!(Hresult::parse("0x123456789"), None);
        assert_eq!(Hresult::parse("<hr>"), None);
    }

    #[test]
    fn displays_as_windows_does() {
        assert_eq!(Hresult(0xC004_F074).to_string(), "0xC004F074");
        assert_eq!(Hresult(0).to_string(), "0x00000000");
        assert!(Hresult(0x4004_F040).is_success());
        assert!(!Hresult(0xC004_F038).is_success());
    }
}

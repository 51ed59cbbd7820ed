//! Thresholds and timings of KMS activation (§8), as the default `params` of an analysis.
//! Every value can be overridden with `--set NAME=VALUE`.

/// (name, default, meaning)
pub const DEFAULTS: [(&str, f64, &str); 9] = [
    (
        "skew_minutes",
        240.0,
        "largest client/host clock difference KMS accepts (4 hours, UTC)",
    ),
    (
        "response_window_minutes",
        10.0,
        "a 12289 later than this after its 12288 is not its response",
    ),
    (
        "match_window_minutes",
        10.0,
        "a host 12290 this far from the client's 12288 can still be the same request",
    ),
    (
        "client_time_match_minutes",
        2.0,
        "12288 and 12290 of one request carry the same client time (minute precision)",
    ),
    (
        "threshold_client_os",
        25.0,
        "count a Windows client OS needs to activate",
    ),
    (
        "threshold_server_office",
        5.0,
        "count Windows Server and Office need to activate",
    ),
    (
        "count_window_days",
        30.0,
        "a host counts the clients of the last 30 days",
    ),
    (
        "activation_interval_minutes",
        120.0,
        "retry interval of a client that is not activated",
    ),
    (
        "renewal_interval_minutes",
        10080.0,
        "renewal interval of an activated client",
    ),
];

/// Resolved parameters: the defaults with the user's overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    values: Vec<(String, f64)>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            values: DEFAULTS
                .iter()
                .map(|(n, v, _)| (n.to_string(), *v))
                .collect(),
        }
    }
}

impl Params {
    /// Applies `NAME=VALUE` overrides; unknown names and non-numbers are errors.
    pub fn with_overrides(overrides: &[String]) -> Result<Params, String> {
        let mut p = Params::default();
        for o in overrides {
            let (name, value) = o
                .split_once('=')
                .ok_or_else(|| format!("--set {o}: expected NAME=VALUE"))?;
            let value: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("--set {o}: {value:?} is not a number"))?;
            let slot = p
                .values
                .iter_mut()
                .find(|(n, _)| n == name.trim())
                .ok_or_else(|| {
                    let names: Vec<&str> = DEFAULTS.iter().map(|d| d.0).collect();
                    format!(
                        "--set {o}: unknown parameter {name:?}; known: {}",
                        names.join(", ")
                    )
                })?;
            slot.1 = value;
        }
        Ok(p)
    }

    pub fn get(&self, name: &str) -> f64 {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("unknown parameter {name}"))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.values.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_checked() {
        let p = Params::with_overrides(&["skew_minutes=60".into()]).unwrap();
        assert_eq!(p.get("skew_minutes"), 60.0);
        assert_eq!(p.get("threshold_client_os"), 25.0);
        assert!(
            Params::with_overrides(&["nope=1".into()])
                .unwrap_err()
                .contains("unknown parameter")
        );
        assert!(
            Params::with_overrides(&["skew_minutes=four".into()])
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            Params::with_overrides(&["skew_minutes".into()])
                .unwrap_err()
                .contains("NAME=VALUE")
        );
    }
}

//! SSH destinations as users write them: `host`, `user@host`,
//! `user@host:port`, `ssh://user@host:port`, `[v6addr]:port`. Also the form
//! of each `ProxyJump` hop.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            write!(f, "{}", self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl Destination {
    pub fn parse(input: &str) -> Result<Destination, String> {
        let rest = input.strip_prefix("ssh://").unwrap_or(input);
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{input:?} is not an SSH destination"));
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) if !user.is_empty() => (Some(user.to_owned()), hostport),
            Some(_) => return Err(format!("{input:?} has an empty user name")),
            None => (None, rest),
        };
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("{input:?}: unclosed `[`"))?;
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(format!("{input:?}: unexpected text after `]`")),
                },
            }
        } else if hostport.matches(':').count() == 1 {
            let (host, port) = hostport.split_once(':').unwrap_or((hostport, ""));
            (host, Some(port))
        } else {
            (hostport, None)
        };
        if host.is_empty() || host.starts_with('-') {
            return Err(format!("{input:?} has no valid host"));
        }
        let port = match port {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{input:?}: {p:?} is not a port number"))?,
            ),
        };
        Ok(Destination {
            user,
            host: host.to_owned(),
            port,
        })
    }

    /// Whether `input` uses a form only a destination has (`@`, `:port`,
    /// `ssh://`), as opposed to a bare name.
    pub fn is_explicit(input: &str) -> bool {
        input.starts_with("ssh://") || input.contains('@') || input.contains(':')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(user: Option<&str>, host: &str, port: Option<u16>) -> Destination {
        Destination {
            user: user.map(Into::into),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn all_forms() {
        assert_eq!(Destination::parse("h").unwrap(), d(None, "h", None));
        assert_eq!(Destination::parse("u@h").unwrap(), d(Some("u"), "h", None));
        assert_eq!(
            Destination::parse("u@h:2222").unwrap(),
            d(Some("u"), "h", Some(2222))
        );
        assert_eq!(
            Destination::parse("ssh://u@h:2222").unwrap(),
            d(Some("u"), "h", Some(2222))
        );
        assert_eq!(
            Destination::parse("[::1]:22").unwrap(),
            d(None, "::1", Some(22))
        );
        assert_eq!(Destination::parse("::1").unwrap(), d(None, "::1", None));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "u@", "@h", "h:x", "h:0", "-oProxyCommand=x", "a b"] {
            assert!(Destination::parse(bad).is_err(), "{bad}");
        }
    }
}

//! SPDX license expressions (`MIT OR Apache-2.0`, `(A OR B) AND C`,
//! `Apache-2.0 WITH LLVM-exception`, and the old `MIT/Apache-2.0`), and
//! whether a set of allowed licenses satisfies one.

/// Whether `expression` can be met with licenses from `allowed` alone:
/// one side of each `OR`, both sides of each `AND`. A license with an
/// exception (`X WITH Y`) must be allowed as written. `None` when the
/// expression does not parse.
pub fn satisfied(expression: &str, allowed: &[String]) -> Option<bool> {
    let tokens = tokens(expression);
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        allowed,
    };
    let result = parser.or()?;
    (parser.at == tokens.len()).then_some(result)
}

fn tokens(expression: &str) -> Vec<String> {
    expression
        .replace('(', " ( ")
        .replace(')', " ) ")
        // crates.io's old separator, read as cargo-deny reads it.
        .replace('/', " OR ")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

struct Parser<'a> {
    tokens: &'a [String],
    at: usize,
    allowed: &'a [String],
}

impl Parser<'_> {
    fn next_is(&self, word: &str) -> bool {
        self.tokens.get(self.at).is_some_and(|t| t == word)
    }

    fn or(&mut self) -> Option<bool> {
        let mut any = self.and()?;
        while self.next_is("OR") {
            self.at += 1;
            any |= self.and()?;
        }
        Some(any)
    }

    fn and(&mut self) -> Option<bool> {
        let mut all = self.license()?;
        while self.next_is("AND") {
            self.at += 1;
            all &= self.license()?;
        }
        Some(all)
    }

    fn license(&mut self) -> Option<bool> {
        let token = self.tokens.get(self.at)?.clone();
        self.at += 1;
        if token == "(" {
            let inner = self.or()?;
            if !self.next_is(")") {
                return None;
            }
            self.at += 1;
            return Some(inner);
        }
        if matches!(token.as_str(), ")" | "AND" | "OR" | "WITH") {
            return None;
        }
        let mut name = token;
        if self.next_is("WITH") {
            let exception = self.tokens.get(self.at + 1)?;
            name = format!("{name} WITH {exception}");
            self.at += 2;
        }
        Some(self.allowed.contains(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::satisfied;

    #[test]
    fn expressions_need_one_side_of_or_and_both_of_and() {
        let allowed: Vec<String> = ["MIT", "Apache-2.0", "Apache-2.0 WITH LLVM-exception"]
            .map(str::to_owned)
            .to_vec();
        for (expression, expected) in [
            ("MIT", Some(true)),
            ("GPL-3.0", Some(false)),
            ("MIT OR GPL-3.0", Some(true)),
            ("MIT AND GPL-3.0", Some(false)),
            ("(MIT OR Apache-2.0) AND GPL-3.0", Some(false)),
            ("(MIT OR GPL-3.0) AND Apache-2.0", Some(true)),
            ("MIT/Apache-2.0", Some(true)),
            ("Apache-2.0 WITH LLVM-exception", Some(true)),
            ("MIT WITH LLVM-exception", Some(false)),
            ("MIT OR", None),
            ("(MIT", None),
            ("MIT Apache-2.0", None),
        ] {
            assert_eq!(satisfied(expression, &allowed), expected, "{expression}");
        }
    }
}

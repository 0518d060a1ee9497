//! kubectl's `-l/--selector` for nodes: the label-selector syntax of
//! k8s.io/apimachinery/pkg/labels/selector.go (`Parse`, its lexer and
//! parser; `Requirement.Matches` is [`crate::requirement`]'s), so `kubectl gpufit nodes -l
//! 'pool in (a100,h100),!spot'` selects what `kubectl get nodes -l …` does.

use std::collections::BTreeMap;

use crate::requirement::{Operator, Requirement};

/// A parsed `-l` selector; empty matches every node (labels.Everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

/// The lexer's tokens (selector.go `Token`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    End,
    Identifier(String),
    Comma,
    Not,
    DoubleEquals,
    Equals,
    NotEquals,
    GreaterThan,
    LessThan,
    In,
    NotIn,
    Open,
    Close,
}

impl Token {
    fn literal(&self) -> &str {
        match self {
            Token::End => "",
            Token::Identifier(s) => s,
            Token::Comma => ",",
            Token::Not => "!",
            Token::DoubleEquals => "==",
            Token::Equals => "=",
            Token::NotEquals => "!=",
            Token::GreaterThan => ">",
            Token::LessThan => "<",
            Token::In => "in",
            Token::NotIn => "notin",
            Token::Open => "(",
            Token::Close => ")",
        }
    }

    /// In a values context `in` and `notin` are plain words
    /// (selector.go `lookahead(Values)`: "value in (in)").
    fn into_value(self) -> Token {
        match self {
            Token::In | Token::NotIn => Token::Identifier(self.literal().to_string()),
            other => other,
        }
    }
}

/// selector.go `isSpecialSymbol` and `isWhitespace`.
fn special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| matches!(c, ' ' | '\t' | '\r' | '\n')).is_some() {}
        let Some(&c) = chars.peek() else {
            tokens.push(Token::End);
            return Ok(tokens);
        };
        if special(c) {
            // The longest operator the symbols spell (scanSpecialSymbol).
            chars.next();
            let two = chars.peek().map(|&n| format!("{c}{n}"));
            let token = match (c, two.as_deref()) {
                (_, Some("==")) => Some(Token::DoubleEquals),
                (_, Some("!=")) => Some(Token::NotEquals),
                ('=', _) => Some(Token::Equals),
                ('!', _) => Some(Token::Not),
                ('>', _) => Some(Token::GreaterThan),
                ('<', _) => Some(Token::LessThan),
                (',', _) => Some(Token::Comma),
                ('(', _) => Some(Token::Open),
                (')', _) => Some(Token::Close),
                _ => None,
            };
            if matches!(token, Some(Token::DoubleEquals | Token::NotEquals)) {
                chars.next();
            }
            tokens.push(token.ok_or_else(|| format!("error expected: keyword found '{c}'"))?);
        } else {
            let mut word = String::new();
            while let Some(c) = chars.next_if(|&c| !special(c) && !matches!(c, ' ' | '\t' | '\r' | '\n')) {
                word.push(c);
            }
            tokens.push(match word.as_str() {
                "in" => Token::In,
                "notin" => Token::NotIn,
                _ => Token::Identifier(word),
            });
        }
    }
}

/// selector.go `validateLabelKey`: validation.go `IsQualifiedName`.
fn validate_key(key: &str) -> Result<(), String> {
    if gpuops_manifest::labels::is_qualified_name(key) {
        Ok(())
    } else {
        Err(format!(
            "invalid label key {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63), with an optional DNS subdomain prefix and '/'"
        ))
    }
}

fn validate_value(key: &str, value: &str) -> Result<(), String> {
    if gpuops_manifest::labels::is_label_value(value) {
        Ok(())
    } else {
        Err(format!(
            "invalid value {value:?} for label {key:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63)"
        ))
    }
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Token {
        self.tokens[self.position.min(self.tokens.len() - 1)].clone()
    }

    fn next(&mut self) -> Token {
        let token = self.peek();
        self.position += 1;
        token
    }

    /// selector.go `parseRequirement`.
    fn requirement(&mut self) -> Result<Requirement, String> {
        let mut negated = false;
        let mut token = self.next().into_value();
        if token == Token::Not {
            negated = true;
            token = self.next().into_value();
        }
        let Token::Identifier(key) = token else {
            return Err(format!("found '{}', expected: identifier", token.literal()));
        };
        validate_key(&key)?;
        if matches!(self.peek().into_value(), Token::End | Token::Comma) {
            let operator = if negated { Operator::DoesNotExist } else { Operator::Exists };
            return Ok(Requirement { key, operator, values: Vec::new() });
        }
        if negated {
            // `!key=value`: Go's parser has DoesNotExist set and then parses
            // an operator; NewRequirement refuses values with it.
            return Err("values set must be empty for exists and does not exist".into());
        }
        let operator_token = self.next();
        let (operator, values) = match operator_token {
            Token::In | Token::NotIn => {
                let values = self.values()?;
                (if operator_token == Token::In { Operator::In } else { Operator::NotIn }, values)
            }
            Token::Equals | Token::DoubleEquals => (Operator::In, vec![self.exact_value()?]),
            Token::NotEquals => (Operator::NotIn, vec![self.exact_value()?]),
            Token::GreaterThan | Token::LessThan => {
                let value = self.exact_value()?;
                if value.parse::<i64>().is_err() {
                    return Err(format!("for 'Gt', 'Lt' operators, the value must be an integer: {value:?}"));
                }
                (
                    if operator_token == Token::GreaterThan { Operator::GreaterThan } else { Operator::LessThan },
                    vec![value],
                )
            }
            other => {
                return Err(format!("found '{}', expected: in, notin, =, ==, !=, gt, lt", other.literal()));
            }
        };
        for value in &values {
            validate_value(&key, value)?;
        }
        Ok(Requirement { key, operator, values })
    }

    /// `( v1, v2 )`, empty values allowed (selector.go `parseValues`).
    fn values(&mut self) -> Result<Vec<String>, String> {
        let open = self.next().into_value();
        if open != Token::Open {
            return Err(format!("found '{}' expected: '('", open.literal()));
        }
        let mut values = Vec::new();
        let mut expect_value = true;
        loop {
            match self.next().into_value() {
                Token::Identifier(v) if expect_value => {
                    values.push(v);
                    expect_value = false;
                }
                Token::Comma => {
                    if expect_value {
                        values.push(String::new());
                    }
                    expect_value = true;
                }
                Token::Close => {
                    if expect_value {
                        values.push(String::new());
                    }
                    values.sort();
                    values.dedup();
                    return Ok(values);
                }
                other => return Err(format!("found '{}', expected: ',', ')' or identifier", other.literal())),
            }
        }
    }

    /// The one value of `=`, `==`, `!=`, `>`, `<` (empty before `,` or the end).
    fn exact_value(&mut self) -> Result<String, String> {
        match self.peek().into_value() {
            Token::End | Token::Comma => Ok(String::new()),
            Token::Identifier(v) => {
                self.next();
                Ok(v)
            }
            other => Err(format!("found '{}', expected: identifier", other.literal())),
        }
    }
}

impl LabelSelector {
    /// Parse kubectl's selector syntax; the error reads like kubectl's
    /// ("unable to parse requirement: …").
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser { tokens: lex(text)?, position: 0 };
        let mut requirements = Vec::new();
        loop {
            match parser.peek().into_value() {
                Token::End => break,
                Token::Identifier(_) | Token::Not => {
                    requirements.push(parser.requirement().map_err(|e| format!("unable to parse requirement: {e}"))?);
                    match parser.next().into_value() {
                        Token::End => break,
                        Token::Comma if matches!(parser.peek().into_value(), Token::Identifier(_) | Token::Not) => {}
                        Token::Comma => {
                            return Err(format!("found '{}', expected: identifier after ','", parser.peek().literal()));
                        }
                        other => return Err(format!("found '{}', expected: ',' or 'end of string'", other.literal())),
                    }
                }
                other => {
                    return Err(format!("found '{}', expected: !, identifier, or 'end of string'", other.literal()));
                }
            }
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// selector.go `Requirement.Matches` ([`Requirement::matches`]), for
    /// every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// (selector, labels, matches). The first 17 rows are
    /// TestSelectorMatches's (staging/src/k8s.io/apimachinery/pkg/labels/
    /// selector_test.go, kubernetes/kubernetes); the rest are the set-based
    /// forms its grammar allows, as `Requirement.Matches` decides them.
    #[test]
    fn matches_as_apimachinery_does() {
        type Case = (&'static str, &'static [(&'static str, &'static str)], bool);
        let cases: &[Case] = &[
            ("", &[("x", "y")], true),
            ("x=y", &[("x", "y")], true),
            ("x=y,z=w", &[("x", "y"), ("z", "w")], true),
            ("x!=y,z!=w", &[("x", "z"), ("z", "a")], true),
            ("notin=in", &[("notin", "in")], true),
            ("x", &[("x", "z")], true),
            ("!x", &[("y", "z")], true),
            ("x>1", &[("x", "2")], true),
            ("x<1", &[("x", "0")], true),
            ("x=z", &[], false),
            ("x=y", &[("x", "z")], false),
            ("x=y,z=w", &[("x", "w"), ("z", "w")], false),
            ("x!=y,z!=w", &[("x", "z"), ("z", "w")], false),
            ("x", &[("y", "z")], false),
            ("!x", &[("x", "z")], false),
            ("x>1", &[("x", "0")], false),
            ("x<1", &[("x", "2")], false),
            ("x in (y,z)", &[("x", "z")], true),
            ("x notin (y,z)", &[("x", "w")], true),
            ("x notin (y,z)", &[], true),
            ("x in (y,z)", &[("x", "w")], false),
            ("x in (,z)", &[("x", "")], true),
            ("x in (in)", &[("x", "in")], true),
            ("pool in (a100, h100),!spot", &[("pool", "h100")], true),
            ("pool in (a100, h100),!spot", &[("pool", "h100"), ("spot", "true")], false),
            ("x==y", &[("x", "y")], true),
            ("x=", &[("x", "")], true),
        ];
        for (selector, have, want) in cases {
            let parsed = LabelSelector::parse(selector).unwrap_or_else(|e| panic!("{selector}: {e}"));
            assert_eq!(parsed.matches(&labels(have)), *want, "{selector:?} on {have:?}");
        }
    }

    /// Inputs the grammar or label validation refuses (of the kinds
    /// TestSelectorParse lists as errors).
    #[test]
    fn refuses_what_apimachinery_refuses() {
        for bad in [
            "x=a||y=b", "x==a==b", "!x=a", "x<a", "x>1.1", "x in (", "x in a", "=y", ",x=y", "x=y,", "x=y z", "-x=y",
            "x=-y", "x notin", "a/b/c=d",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            LabelSelector::parse("x in (a").unwrap_err(),
            "unable to parse requirement: found '', expected: ',', ')' or identifier"
        );
    }
}

//! Formulas a manager types (a project's own area-compensation rule, DOMAIN.md
//! A3): arithmetic over named variables with exact fractions, parsed and
//! checked when saved, evaluated without ever running code or touching a float.
//!
//! ```text
//! formula    := comparison
//! comparison := sum (("<" | "<=" | ">" | ">=" | "=" | "!=") sum)?
//! sum        := product (("+" | "-") product)*
//! product    := unary (("*" | "/") unary)*
//! unary      := "-" unary | primary
//! primary    := number ["%"] | name | name "(" formula ("," formula)* ")" | "(" formula ")"
//! ```
//! Functions: `min`, `max` (two or more numbers), `abs(x)`, `if(condition, then, else)`.
//! Every value is a fraction of two `i128`s, so `1 / 3 * 3` is exactly 1; the
//! caller rounds once, at the end.

use std::collections::BTreeMap;
use std::fmt;

/// An exact fraction, always reduced, with a positive denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fraction {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

impl Fraction {
    pub const ZERO: Fraction = Fraction { num: 0, den: 1 };

    pub fn new(num: i128, den: i128) -> Option<Fraction> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den);
        let sign = if den < 0 { -1 } else { 1 };
        Some(Fraction { num: sign * num / g, den: sign * den / g })
    }

    /// An amount kept in hundredths (fen, hundredths of m2).
    pub fn from_hundredths(value: i64) -> Fraction {
        Fraction::new(i128::from(value), 100).unwrap_or(Fraction::ZERO)
    }

    pub fn integer(value: i64) -> Fraction {
        Fraction { num: i128::from(value), den: 1 }
    }

    fn add(self, o: Fraction) -> Option<Fraction> {
        let g = gcd(self.den, o.den);
        let den = self.den.checked_mul(o.den / g)?;
        let num = self.num.checked_mul(o.den / g)?.checked_add(o.num.checked_mul(self.den / g)?)?;
        Fraction::new(num, den)
    }

    fn neg(self) -> Fraction {
        Fraction { num: -self.num, den: self.den }
    }

    fn mul(self, o: Fraction) -> Option<Fraction> {
        // Cross-reduce first so that products of amounts and ratios stay small.
        let g1 = gcd(self.num, o.den);
        let g2 = gcd(o.num, self.den);
        Fraction::new((self.num / g1).checked_mul(o.num / g2)?, (self.den / g2).checked_mul(o.den / g1)?)
    }

    fn div(self, o: Fraction) -> Option<Fraction> {
        if o.num == 0 {
            return None;
        }
        self.mul(Fraction { num: o.den, den: o.num })
    }

    fn cmp_to(self, o: Fraction) -> Option<std::cmp::Ordering> {
        Some(self.num.checked_mul(o.den)?.cmp(&o.num.checked_mul(self.den)?))
    }

    /// Hundredths rounded half away from zero (the fen of an amount in yuan).
    pub fn round_to_hundredths(self) -> Option<i64> {
        let scaled = self.num.checked_mul(100)?;
        let q = (scaled.abs().checked_mul(2)? + self.den) / (self.den * 2);
        i64::try_from(if scaled < 0 { -q } else { q }).ok()
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 { write!(f, "{}", self.num) } else { write!(f, "{}/{}", self.num, self.den) }
    }
}

/// Why a formula was refused when saved; `at` is a character position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormulaError {
    Empty,
    TooLong,
    UnexpectedCharacter {
        at: usize,
        found: char,
    },
    /// The formula stops where more was expected, or goes on after its end.
    Syntax {
        at: usize,
    },
    UnknownVariable(String),
    UnknownFunction(String),
    WrongArguments(String),
    /// A condition where a number is needed, or the other way round.
    NotANumber,
    BadNumber {
        at: usize,
    },
}

impl FormulaError {
    /// The code a form shows beside the formula field.
    pub fn code(&self) -> &'static str {
        match self {
            FormulaError::Empty => "required",
            FormulaError::TooLong => "too_long",
            FormulaError::UnexpectedCharacter { .. } => "formula_unexpected_character",
            FormulaError::Syntax { .. } => "formula_syntax",
            FormulaError::UnknownVariable(_) => "formula_unknown_variable",
            FormulaError::UnknownFunction(_) => "formula_unknown_function",
            FormulaError::WrongArguments(_) => "formula_wrong_arguments",
            FormulaError::NotANumber => "formula_not_a_number",
            FormulaError::BadNumber { .. } => "formula_bad_number",
        }
    }

    /// What the message names: the unknown variable or function, or where it went wrong.
    pub fn detail(&self) -> String {
        match self {
            FormulaError::UnknownVariable(name)
            | FormulaError::UnknownFunction(name)
            | FormulaError::WrongArguments(name) => name.clone(),
            FormulaError::UnexpectedCharacter { at, found } => format!("{found} @ {}", at + 1),
            FormulaError::Syntax { at } | FormulaError::BadNumber { at } => format!("@ {}", at + 1),
            FormulaError::Empty | FormulaError::TooLong | FormulaError::NotANumber => String::new(),
        }
    }
}

/// Why a checked formula had no value for one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalError {
    DivisionByZero,
    Overflow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Number(Fraction),
    Variable(String),
    Neg(Box<Node>),
    Add(Box<Node>, Box<Node>),
    Sub(Box<Node>, Box<Node>),
    Mul(Box<Node>, Box<Node>),
    Div(Box<Node>, Box<Node>),
    Compare(Cmp, Box<Node>, Box<Node>),
    Min(Vec<Node>),
    Max(Vec<Node>),
    Abs(Box<Node>),
    If(Box<Node>, Box<Node>, Box<Node>),
}

/// A formula that parsed, uses only known variables and yields a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formula {
    text: String,
    root: Node,
}

pub const MAX_FORMULA_CHARS: usize = 2000;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(Fraction),
    Name(String),
    Op(&'static str),
}

fn tokens(text: &str) -> Result<Vec<(usize, Token)>, FormulaError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let literal: String = chars[start..i].iter().collect();
            out.push((start, Token::Number(decimal(&literal).ok_or(FormulaError::BadNumber { at: start })?)));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((start, Token::Name(chars[start..i].iter().collect())));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = ["<=", ">=", "!=", "=="].into_iter().find(|o| *o == two);
            if let Some(op) = op {
                out.push((i, Token::Op(if op == "==" { "=" } else { op })));
                i += 2;
                continue;
            }
            let op = ["+", "-", "*", "/", "(", ")", ",", "<", ">", "=", "%"]
                .into_iter()
                .find(|o| o.starts_with(c))
                .ok_or(FormulaError::UnexpectedCharacter { at: i, found: c })?;
            out.push((i, Token::Op(op)));
            i += 1;
        }
    }
    Ok(out)
}

/// `12.345` as an exact fraction; at most 12 decimal places.
fn decimal(text: &str) -> Option<Fraction> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.contains('.') || frac.len() > 12 || whole.len() > 18 {
        return None;
    }
    let digits = format!("{whole}{frac}");
    let num: i128 = digits.parse().ok()?;
    Fraction::new(num, 10i128.pow(u32::try_from(frac.len()).ok()?))
}

struct Parser<'a> {
    tokens: &'a [(usize, Token)],
    at: usize,
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    fn eat(&mut self, op: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Op(o)) if *o == op);
        if found {
            self.at += 1;
        }
        found
    }

    fn comparison(&mut self) -> Result<Node, FormulaError> {
        let left = self.sum()?;
        let cmp = match self.peek() {
            Some(Token::Op("<")) => Cmp::Lt,
            Some(Token::Op("<=")) => Cmp::Le,
            Some(Token::Op(">")) => Cmp::Gt,
            Some(Token::Op(">=")) => Cmp::Ge,
            Some(Token::Op("=")) => Cmp::Eq,
            Some(Token::Op("!=")) => Cmp::Ne,
            _ => return Ok(left),
        };
        self.at += 1;
        let right = self.sum()?;
        Ok(Node::Compare(cmp, Box::new(left), Box::new(right)))
    }

    fn sum(&mut self) -> Result<Node, FormulaError> {
        let mut node = self.product()?;
        loop {
            if self.eat("+") {
                node = Node::Add(Box::new(node), Box::new(self.product()?));
            } else if self.eat("-") {
                node = Node::Sub(Box::new(node), Box::new(self.product()?));
            } else {
                return Ok(node);
            }
        }
    }

    fn product(&mut self) -> Result<Node, FormulaError> {
        let mut node = self.unary()?;
        loop {
            if self.eat("*") {
                node = Node::Mul(Box::new(node), Box::new(self.unary()?));
            } else if self.eat("/") {
                node = Node::Div(Box::new(node), Box::new(self.unary()?));
            } else {
                return Ok(node);
            }
        }
    }

    fn unary(&mut self) -> Result<Node, FormulaError> {
        if self.eat("-") { Ok(Node::Neg(Box::new(self.unary()?))) } else { self.primary() }
    }

    fn primary(&mut self) -> Result<Node, FormulaError> {
        let at = self.position();
        match self.tokens.get(self.at).map(|(_, t)| t.clone()) {
            Some(Token::Number(n)) => {
                self.at += 1;
                if self.eat("%") {
                    return Ok(Node::Number(n.div(Fraction::integer(100)).ok_or(FormulaError::BadNumber { at })?));
                }
                Ok(Node::Number(n))
            }
            Some(Token::Name(name)) => {
                self.at += 1;
                if !self.eat("(") {
                    return Ok(Node::Variable(name));
                }
                let mut args = vec![self.comparison()?];
                while self.eat(",") {
                    args.push(self.comparison()?);
                }
                if !self.eat(")") {
                    return Err(FormulaError::Syntax { at: self.position() });
                }
                call(&name, args)
            }
            Some(Token::Op("(")) => {
                self.at += 1;
                let node = self.comparison()?;
                if !self.eat(")") {
                    return Err(FormulaError::Syntax { at: self.position() });
                }
                Ok(node)
            }
            _ => Err(FormulaError::Syntax { at }),
        }
    }
}

fn call(name: &str, mut args: Vec<Node>) -> Result<Node, FormulaError> {
    let wrong = || FormulaError::WrongArguments(name.to_owned());
    match name {
        "min" | "max" if args.len() >= 2 => Ok(if name == "min" { Node::Min(args) } else { Node::Max(args) }),
        "abs" if args.len() == 1 => Ok(Node::Abs(Box::new(args.remove(0)))),
        "if" if args.len() == 3 => {
            let otherwise = args.remove(2);
            let then = args.remove(1);
            Ok(Node::If(Box::new(args.remove(0)), Box::new(then), Box::new(otherwise)))
        }
        "min" | "max" | "abs" | "if" => Err(wrong()),
        _ => Err(FormulaError::UnknownFunction(name.to_owned())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Condition,
}

fn check(node: &Node, variables: &[&str]) -> Result<Kind, FormulaError> {
    let number = |n: &Node| match check(n, variables)? {
        Kind::Number => Ok(()),
        Kind::Condition => Err(FormulaError::NotANumber),
    };
    match node {
        Node::Number(_) => Ok(Kind::Number),
        Node::Variable(name) => {
            if variables.contains(&name.as_str()) {
                Ok(Kind::Number)
            } else {
                Err(FormulaError::UnknownVariable(name.clone()))
            }
        }
        Node::Neg(a) | Node::Abs(a) => number(a).map(|()| Kind::Number),
        Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) | Node::Div(a, b) => {
            number(a)?;
            number(b).map(|()| Kind::Number)
        }
        Node::Compare(_, a, b) => {
            number(a)?;
            number(b).map(|()| Kind::Condition)
        }
        Node::Min(items) | Node::Max(items) => {
            for item in items {
                number(item)?;
            }
            Ok(Kind::Number)
        }
        Node::If(condition, then, otherwise) => {
            if check(condition, variables)? != Kind::Condition {
                return Err(FormulaError::NotANumber);
            }
            number(then)?;
            number(otherwise).map(|()| Kind::Number)
        }
    }
}

impl Formula {
    /// Parses `text` and checks it against the variables the caller will supply.
    pub fn parse(text: &str, variables: &[&str]) -> Result<Formula, FormulaError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(FormulaError::Empty);
        }
        if text.chars().count() > MAX_FORMULA_CHARS {
            return Err(FormulaError::TooLong);
        }
        let tokens = tokens(text)?;
        let mut parser = Parser { tokens: &tokens, at: 0, end: text.chars().count() };
        let root = parser.comparison()?;
        if parser.at != tokens.len() {
            return Err(FormulaError::Syntax { at: parser.position() });
        }
        if check(&root, variables)? != Kind::Number {
            return Err(FormulaError::NotANumber);
        }
        Ok(Formula { text: text.to_owned(), root })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The formula's value; every variable it was checked against must be given.
    pub fn evaluate(&self, values: &BTreeMap<&str, Fraction>) -> Result<Fraction, EvalError> {
        number(&self.root, values)
    }
}

fn number(node: &Node, values: &BTreeMap<&str, Fraction>) -> Result<Fraction, EvalError> {
    let of = |n: &Node| number(n, values);
    let overflow = |v: Option<Fraction>| v.ok_or(EvalError::Overflow);
    match node {
        Node::Number(n) => Ok(*n),
        // A variable the caller checked but did not supply counts as zero.
        Node::Variable(name) => Ok(values.get(name.as_str()).copied().unwrap_or(Fraction::ZERO)),
        Node::Neg(a) => Ok(of(a)?.neg()),
        Node::Abs(a) => {
            let v = of(a)?;
            Ok(if v.num < 0 { v.neg() } else { v })
        }
        Node::Add(a, b) => overflow(of(a)?.add(of(b)?)),
        Node::Sub(a, b) => overflow(of(a)?.add(of(b)?.neg())),
        Node::Mul(a, b) => overflow(of(a)?.mul(of(b)?)),
        Node::Div(a, b) => {
            let divisor = of(b)?;
            if divisor.num == 0 {
                return Err(EvalError::DivisionByZero);
            }
            overflow(of(a)?.div(divisor))
        }
        Node::Min(items) | Node::Max(items) => {
            let want_min = matches!(node, Node::Min(_));
            let mut best = of(&items[0])?;
            for item in &items[1..] {
                let v = of(item)?;
                let ord = v.cmp_to(best).ok_or(EvalError::Overflow)?;
                if (want_min && ord.is_lt()) || (!want_min && ord.is_gt()) {
                    best = v;
                }
            }
            Ok(best)
        }
        Node::If(condition, then, otherwise) => {
            if holds(condition, values)? {
                of(then)
            } else {
                of(otherwise)
            }
        }
        // `check` refuses a comparison where a number is needed.
        Node::Compare(..) => Err(EvalError::Overflow),
    }
}

fn holds(node: &Node, values: &BTreeMap<&str, Fraction>) -> Result<bool, EvalError> {
    let Node::Compare(cmp, a, b) = node else {
        return Err(EvalError::Overflow);
    };
    let ord = number(a, values)?.cmp_to(number(b, values)?).ok_or(EvalError::Overflow)?;
    Ok(match cmp {
        Cmp::Lt => ord.is_lt(),
        Cmp::Le => ord.is_le(),
        Cmp::Gt => ord.is_gt(),
        Cmp::Ge => ord.is_ge(),
        Cmp::Eq => ord.is_eq(),
        Cmp::Ne => ord.is_ne(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: &[&str] = &["contract_area", "measured_area", "unit_price", "error_ratio"];

    fn value(text: &str, values: &[(&'static str, Fraction)]) -> Fraction {
        let f = Formula::parse(text, VARS).unwrap();
        f.evaluate(&values.iter().copied().collect()).unwrap()
    }

    #[test]
    fn arithmetic_is_exact_and_follows_precedence() {
        assert_eq!(value("1 / 3 * 3", &[]), Fraction::integer(1));
        assert_eq!(value("2 + 3 * 4 - -1", &[]), Fraction::integer(15));
        assert_eq!(value("(2 + 3) * 4", &[]), Fraction::integer(20));
        assert_eq!(value("0.1 + 0.2", &[]), Fraction::new(3, 10).unwrap());
        assert_eq!(value("3%", &[]), Fraction::new(3, 100).unwrap());
        assert_eq!(value("max(1, 2.5, -4) + min(1, -4) + abs(-2)", &[]), Fraction::new(1, 2).unwrap());
        assert_eq!(value("if(1 <= 1, 7, 8) + if(2 != 2, 100, 0)", &[]), Fraction::integer(7));
    }

    #[test]
    fn a_one_percent_band_formula_settles_within_the_band_and_caps_beyond_it() {
        let band = "if(abs(error_ratio) <= 1%, (measured_area - contract_area) * unit_price, \
                    if(error_ratio > 0, 1% * contract_area * unit_price, \
                    -(1% * contract_area + 2 * (contract_area - measured_area - 1% * contract_area)) * unit_price))";
        let at = |measured: i64| {
            let (ac, am) = (Fraction::from_hundredths(10_000), Fraction::from_hundredths(measured));
            let ratio = am.add(ac.neg()).unwrap().div(ac).unwrap();
            value(
                band,
                &[
                    ("contract_area", ac),
                    ("measured_area", am),
                    ("unit_price", Fraction::integer(20_000)),
                    ("error_ratio", ratio),
                ],
            )
            .round_to_hundredths()
            .unwrap()
        };
        assert_eq!(at(10_050), 1_000_000, "0.5 m2 more: 10,000.00");
        assert_eq!(at(10_200), 2_000_000, "2 m2 more: capped at 1 %, 20,000.00");
        assert_eq!(at(9_800), -6_000_000, "2 m2 less: 1 % once and 1 % twice, 60,000.00 back");
    }

    #[test]
    fn unknown_names_and_bad_shapes_are_refused_when_saved() {
        let err = |t: &str| Formula::parse(t, VARS).unwrap_err();
        assert_eq!(err("measured_area * price"), FormulaError::UnknownVariable("price".into()));
        assert_eq!(err("sqrt(2)"), FormulaError::UnknownFunction("sqrt".into()));
        assert_eq!(err("abs(1, 2)"), FormulaError::WrongArguments("abs".into()));
        assert_eq!(err("1 +"), FormulaError::Syntax { at: 3 });
        assert_eq!(err("(1 + 2"), FormulaError::Syntax { at: 6 });
        assert_eq!(err("1 2"), FormulaError::Syntax { at: 2 });
        assert_eq!(err("1 < 2"), FormulaError::NotANumber);
        assert_eq!(err("if(1, 2, 3)"), FormulaError::NotANumber);
        assert_eq!(err("1.2.3"), FormulaError::BadNumber { at: 0 });
        assert_eq!(err("2 ^ 3"), FormulaError::UnexpectedCharacter { at: 2, found: '^' });
        assert_eq!(err("  "), FormulaError::Empty);
        assert_eq!(err("system(\"rm\")"), FormulaError::UnexpectedCharacter { at: 7, found: '"' });
    }

    #[test]
    fn division_by_zero_and_overflow_are_errors_not_panics() {
        let f = Formula::parse("1 / (contract_area - contract_area)", VARS).unwrap();
        assert_eq!(f.evaluate(&[("contract_area", Fraction::integer(5))].into()), Err(EvalError::DivisionByZero));
        let huge = "999999999999999999 * 999999999999999999 * 999999999999999999 * 999999999999999999";
        assert_eq!(Formula::parse(huge, VARS).unwrap().evaluate(&BTreeMap::new()), Err(EvalError::Overflow));
    }

    #[test]
    fn rounding_is_half_away_from_zero_once() {
        assert_eq!(Fraction::new(1, 200).unwrap().round_to_hundredths(), Some(1));
        assert_eq!(Fraction::new(-1, 200).unwrap().round_to_hundredths(), Some(-1));
        assert_eq!(Fraction::new(1, 201).unwrap().round_to_hundredths(), Some(0));
    }
}

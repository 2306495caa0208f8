//! Translations: flat `key: "text"` files under `locales/`, embedded in the
//! binary. zh-CN is the default; English by the user's choice or browser.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    ZhCn,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        if code.starts_with("zh") {
            Some(Lang::ZhCn)
        } else if code.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The first language of an `Accept-Language` header that Loupan speaks,
    /// in the client's order of preference.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut tags: Vec<(f32, usize, &str)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim();
                let q =
                    pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
                Some((q, i, tag))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        tags.into_iter().find_map(|(_, _, tag)| Lang::from_code(tag))
    }
}

pub const ZH_CN_SOURCE: &str = include_str!("../locales/zh-CN.yml");
pub const EN_SOURCE: &str = include_str!("../locales/en.yml");

/// Parses the flat YAML subset the locale files use: `key: "json string"` or
/// `key: bare text`, `#` comments. Returns the pairs in file order.
pub fn parse_locale(source: &str) -> Vec<(String, String)> {
    source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            let value = value.trim();
            let text =
                if value.starts_with('"') { serde_json::from_str::<String>(value).ok()? } else { value.to_owned() };
            Some((key.trim().to_owned(), text))
        })
        .collect()
}

fn catalog(lang: Lang) -> &'static HashMap<String, String> {
    static ZH: OnceLock<HashMap<String, String>> = OnceLock::new();
    static EN: OnceLock<HashMap<String, String>> = OnceLock::new();
    match lang {
        Lang::ZhCn => ZH.get_or_init(|| parse_locale(ZH_CN_SOURCE).into_iter().collect()),
        Lang::En => EN.get_or_init(|| parse_locale(EN_SOURCE).into_iter().collect()),
    }
}

/// The text for `key`, or the key itself (and a warning in the log) when missing.
pub fn t(lang: Lang, key: &str) -> String {
    match catalog(lang).get(key) {
        Some(text) => text.clone(),
        None => {
            tracing::warn!(key, lang = lang.code(), "missing translation");
            key.to_owned()
        }
    }
}

pub fn has_key(lang: Lang, key: &str) -> bool {
    catalog(lang).contains_key(key)
}

/// `t` with `{name}` placeholders filled in.
pub fn t_with(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut text = t(lang, key);
    for (name, value) in args {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// What is wrong with a field, in `lang`, with the facts the error names filled in.
pub fn field_message(lang: Lang, error: &loupan_domain::FieldError) -> String {
    let facts: Vec<(&str, &str)> = error.facts.iter().map(|(k, v)| (*k, v.as_str())).collect();
    t_with(lang, &format!("field_error.{}", error.code), &facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_respects_order_and_weights() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr, zh-CN;q=0.8, en;q=0.5"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_accept_language("zh;q=0.4, en;q=0.9"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de"), None);
    }

    #[test]
    fn both_locales_have_the_same_keys() {
        let zh: Vec<String> = parse_locale(ZH_CN_SOURCE).into_iter().map(|(k, _)| k).collect();
        let en: Vec<String> = parse_locale(EN_SOURCE).into_iter().map(|(k, _)| k).collect();
        let missing_en: Vec<_> = zh.iter().filter(|k| !en.contains(k)).collect();
        let missing_zh: Vec<_> = en.iter().filter(|k| !zh.contains(k)).collect();
        assert!(missing_en.is_empty(), "missing in en.yml: {missing_en:?}");
        assert!(missing_zh.is_empty(), "missing in zh-CN.yml: {missing_zh:?}");
        let mut sorted = zh.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), zh.len(), "duplicate keys in zh-CN.yml");
    }
}

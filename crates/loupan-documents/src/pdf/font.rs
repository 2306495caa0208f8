//! The machine's CJK font, found once, and the widths the layout measures with.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::PdfError;

/// Font files tried in order when `LOUPAN_PDF_FONT` is not set.
const FONT_CANDIDATES: [&str; 8] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\simsun.ttc",
];

pub(crate) struct FontFile {
    pub data: &'static [u8],
    /// The face of the collection that covers Simplified Chinese.
    pub index: u32,
}

/// The font, read once for the life of the process.
pub(crate) fn font() -> Result<&'static FontFile, PdfError> {
    static FONT: OnceLock<Option<FontFile>> = OnceLock::new();
    FONT.get_or_init(|| {
        let paths: Vec<String> = match std::env::var("LOUPAN_PDF_FONT") {
            Ok(p) if !p.is_empty() => vec![p],
            _ => FONT_CANDIDATES.iter().map(|p| (*p).to_owned()).collect(),
        };
        let data: &'static [u8] = paths.iter().find_map(|p| std::fs::read(p).ok())?.leak();
        let faces = ttf_parser::fonts_in_collection(data).unwrap_or(1);
        let covers = |i: u32| ttf_parser::Face::parse(data, i).ok().is_some_and(|f| f.glyph_index('认').is_some());
        // Prefer the Simplified Chinese face of a pan-CJK collection.
        let sc = (0..faces).find(|&i| {
            covers(i)
                && ttf_parser::Face::parse(data, i)
                    .ok()
                    .is_some_and(|f| f.names().into_iter().any(|n| n.to_string().is_some_and(|s| s.contains(" SC"))))
        });
        let index = sc.or_else(|| (0..faces).find(|&i| covers(i)))?;
        Some(FontFile { data, index })
    })
    .as_ref()
    .ok_or(PdfError::NoFont)
}

/// Glyph ids and advances (in em) of the font, cached per character.
pub(crate) struct Metrics {
    face: ttf_parser::Face<'static>,
    upem: f32,
    /// Top of the tallest glyph above the baseline, in em.
    pub ascent: f32,
    cache: HashMap<char, (u16, f32)>,
}

impl Metrics {
    pub fn new(file: &'static FontFile) -> Result<Self, PdfError> {
        let face = ttf_parser::Face::parse(file.data, file.index).map_err(|e| PdfError::Font(e.to_string()))?;
        let upem = f32::from(face.units_per_em());
        let ascent = f32::from(face.ascender()) / upem;
        Ok(Self { face, upem, ascent, cache: HashMap::new() })
    }

    /// The glyph that shows `c` (a white square where the font has none) and its advance in em.
    pub fn glyph(&mut self, c: char) -> (u16, f32) {
        if let Some(g) = self.cache.get(&c) {
            return *g;
        }
        let id = self.face.glyph_index(c).or_else(|| self.face.glyph_index('□')).map_or(0, |g| g.0);
        let advance = self.face.glyph_hor_advance(ttf_parser::GlyphId(id)).map_or(0.0, |a| f32::from(a) / self.upem);
        self.cache.insert(c, (id, advance));
        (id, advance)
    }

    /// How wide `text` is at `size` points.
    pub fn width(&mut self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }
}

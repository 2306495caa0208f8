//! Printable letters (认购书 and the like) as PDF: headings, label/value
//! tables, paragraphs and signature lines on A4 pages, in a CJK font of the
//! machine (`LOUPAN_PDF_FONT`, else the usual Noto/WenQuanYi/PingFang/YaHei
//! paths). Only the glyphs a letter uses are embedded, as a CID font with a
//! ToUnicode map, so letters stay small, print the same everywhere, and their
//! text can be searched and copied.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// What a letter says, top to bottom.
#[derive(Debug, Clone)]
pub enum Block {
    /// A centred title.
    Title(String),
    /// A bold-looking section heading (larger text).
    Heading(String),
    /// Label and value rows of a ruled table.
    Fields(Vec<(String, String)>),
    /// Running text, wrapped to the page.
    Paragraph(String),
    /// Signature blanks side by side (`甲方（签章）：`).
    Signatures(Vec<String>),
    /// A ruled table of equal columns; cells wrap (`\n` breaks a line).
    Table { header: Vec<String>, rows: Vec<Vec<String>>, size: f32 },
    /// What follows starts on a new page (the next letter of a batch).
    PageBreak,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("no CJK font found: install fonts-noto-cjk (or another Chinese font) or set LOUPAN_PDF_FONT")]
    NoFont,
    #[error("font {0}")]
    Font(String),
}

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

struct FontFile {
    data: Vec<u8>,
    index: u32,
}

/// The font, read once: the face of the collection that covers Simplified Chinese.
fn font() -> Result<&'static FontFile, PdfError> {
    static FONT: OnceLock<Option<FontFile>> = OnceLock::new();
    FONT.get_or_init(|| {
        let paths: Vec<String> = match std::env::var("LOUPAN_PDF_FONT") {
            Ok(p) if !p.is_empty() => vec![p],
            _ => FONT_CANDIDATES.iter().map(|p| (*p).to_owned()).collect(),
        };
        paths.iter().find_map(|p| std::fs::read(p).ok()).and_then(|data| {
            let faces = ttf_parser::fonts_in_collection(&data).unwrap_or(1);
            let covers = |i: u32| ttf_parser::Face::parse(&data, i).ok().is_some_and(|f| f.glyph_index('认').is_some());
            // Prefer the Simplified Chinese face of a pan-CJK collection.
            let sc = (0..faces).find(|&i| {
                covers(i)
                    && ttf_parser::Face::parse(&data, i).ok().is_some_and(|f| {
                        f.names().into_iter().any(|n| n.to_string().is_some_and(|s| s.contains(" SC")))
                    })
            });
            let index = sc.or_else(|| (0..faces).find(|&i| covers(i)))?;
            Some(FontFile { data, index })
        })
    })
    .as_ref()
    .ok_or(PdfError::NoFont)
}

/// Whether letters can be made on this machine.
pub fn available() -> bool {
    font().is_ok()
}

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 60.0;
const BODY: f32 = 10.5;
const LABEL_W: f32 = 120.0;

enum Op {
    Text { x: f32, y: f32, size: f32, glyphs: Vec<u16> },
    Rule { x1: f32, y1: f32, x2: f32, y2: f32 },
}

struct Layout<'a> {
    face: ttf_parser::Face<'a>,
    upem: f32,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// Every glyph used, with the character it shows (for copy and search).
    used: BTreeMap<u16, char>,
}

impl Layout<'_> {
    fn glyph(&mut self, c: char) -> (u16, f32) {
        let id = self.face.glyph_index(c).or_else(|| self.face.glyph_index('□')).map_or(0, |g| g.0);
        self.used.entry(id).or_insert(c);
        let advance = self.face.glyph_hor_advance(ttf_parser::GlyphId(id)).unwrap_or(0);
        (id, f32::from(advance) / self.upem)
    }

    /// Splits `text` into lines no wider than `width` at `size` (CJK breaks anywhere).
    fn wrap(&mut self, text: &str, size: f32, width: f32) -> Vec<(Vec<u16>, f32)> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let (mut line, mut w) = (Vec::new(), 0.0);
            for c in paragraph.chars() {
                let (g, a) = self.glyph(c);
                if w + a * size > width && !line.is_empty() {
                    lines.push((std::mem::take(&mut line), w));
                    w = 0.0;
                }
                line.push(g);
                w += a * size;
            }
            lines.push((line, w));
        }
        lines
    }

    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Room for `height` more points, or a new page.
    fn need(&mut self, height: f32) {
        if self.pages.is_empty() || self.y - height < MARGIN {
            self.pages.push(Vec::new());
            self.y = PAGE_H - MARGIN;
        }
    }

    fn text(&mut self, x: f32, size: f32, glyphs: Vec<u16>) {
        let y = self.y - size;
        self.page().push(Op::Text { x, y, size, glyphs });
    }

    fn rule(&mut self, y: f32) {
        self.page().push(Op::Rule { x1: MARGIN, y1: y, x2: PAGE_W - MARGIN, y2: y });
    }

    fn block(&mut self, block: &Block) {
        let width = PAGE_W - 2.0 * MARGIN;
        match block {
            Block::PageBreak => {
                if !self.pages.is_empty() {
                    self.pages.push(Vec::new());
                    self.y = PAGE_H - MARGIN;
                }
            }
            Block::Title(t) => {
                for (line, w) in self.wrap(t, 18.0, width) {
                    self.need(30.0);
                    self.text((PAGE_W - w) / 2.0, 18.0, line);
                    self.y -= 30.0;
                }
                self.y -= 6.0;
            }
            Block::Heading(t) => {
                self.y -= 6.0;
                for (line, _) in self.wrap(t, 12.5, width) {
                    self.need(20.0);
                    self.text(MARGIN, 12.5, line);
                    self.y -= 20.0;
                }
            }
            Block::Fields(rows) => {
                self.need(8.0);
                let top = self.y;
                self.rule(top);
                for (label, value) in rows {
                    let labels = self.wrap(label, BODY, LABEL_W - 8.0);
                    let values = self.wrap(value, BODY, width - LABEL_W - 8.0);
                    let height = labels.len().max(values.len()) as f32 * BODY * 1.5 + 8.0;
                    self.need(height);
                    let row_top = self.y;
                    for (i, (line, _)) in labels.into_iter().enumerate() {
                        self.y = row_top - 4.0 - i as f32 * BODY * 1.5;
                        self.text(MARGIN + 4.0, BODY, line);
                    }
                    for (i, (line, _)) in values.into_iter().enumerate() {
                        self.y = row_top - 4.0 - i as f32 * BODY * 1.5;
                        self.text(MARGIN + LABEL_W + 4.0, BODY, line);
                    }
                    self.y = row_top - height;
                    let bottom = self.y;
                    self.rule(bottom);
                }
                self.y -= 10.0;
            }
            Block::Paragraph(t) => {
                for (line, _) in self.wrap(t, BODY, width) {
                    self.need(BODY * 1.7);
                    self.text(MARGIN, BODY, line);
                    self.y -= BODY * 1.7;
                }
                self.y -= 4.0;
            }
            Block::Table { header, rows, size } => {
                let cols = header.len().max(1);
                let col = width / cols as f32;
                let size = *size;
                let mut all = vec![header.clone()];
                all.extend(rows.iter().cloned());
                self.need(8.0);
                let top = self.y;
                self.rule(top);
                for row in &all {
                    let cells: Vec<Vec<(Vec<u16>, f32)>> = row.iter().map(|c| self.wrap(c, size, col - 6.0)).collect();
                    let lines = cells.iter().map(Vec::len).max().unwrap_or(1);
                    let height = lines as f32 * size * 1.4 + 6.0;
                    self.need(height);
                    let row_top = self.y;
                    for (i, cell) in cells.into_iter().enumerate() {
                        for (j, (line, _)) in cell.into_iter().enumerate() {
                            self.y = row_top - 3.0 - j as f32 * size * 1.4;
                            self.text(MARGIN + i as f32 * col + 3.0, size, line);
                        }
                    }
                    self.y = row_top - height;
                    let bottom = self.y;
                    self.rule(bottom);
                }
                self.y -= 10.0;
            }
            Block::Signatures(parties) => {
                self.y -= 24.0;
                self.need(60.0);
                let col = width / parties.len().max(1) as f32;
                for (i, p) in parties.iter().enumerate() {
                    let glyphs: Vec<u16> = p.chars().map(|c| self.glyph(c).0).collect();
                    self.text(MARGIN + i as f32 * col, BODY, glyphs);
                }
                self.y -= 40.0;
                let y = self.y;
                for i in 0..parties.len() {
                    let x = MARGIN + i as f32 * col;
                    self.page().push(Op::Rule { x1: x, y1: y, x2: x + col - 20.0, y2: y });
                }
                self.y -= 12.0;
            }
        }
    }
}

fn utf16_hex(c: char) -> String {
    let mut buf = [0u16; 2];
    c.encode_utf16(&mut buf).iter().map(|u| format!("{u:04X}")).collect()
}

/// Renders the letter to PDF bytes.
pub fn render(blocks: &[Block]) -> Result<Vec<u8>, PdfError> {
    let file = font()?;
    let face = ttf_parser::Face::parse(&file.data, file.index).map_err(|e| PdfError::Font(e.to_string()))?;
    let upem = f32::from(face.units_per_em());
    let cff = face.tables().cff.is_some();
    let ascent = f32::from(face.ascender()) * 1000.0 / upem;
    let descent = f32::from(face.descender()) * 1000.0 / upem;
    let bbox = face.global_bounding_box();
    let name = face
        .names()
        .into_iter()
        .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .and_then(|n| n.to_string())
        .unwrap_or_else(|| "LoupanCJK".into())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>();
    let mut layout = Layout { face, upem, pages: Vec::new(), y: PAGE_H - MARGIN, used: BTreeMap::new() };
    layout.used.insert(0, '\u{FFFD}');
    for b in blocks {
        layout.block(b);
    }
    // Only the glyphs used travel with the letter; they are renumbered 0, 1, 2, ….
    let mut remapper = subsetter::GlyphRemapper::new();
    for gid in layout.used.keys() {
        remapper.remap(*gid);
    }
    let subset = subsetter::subset(&file.data, file.index, &remapper).map_err(|e| PdfError::Font(format!("{e:?}")))?;
    let new_gid = |old: u16| remapper.get(old).unwrap_or(0);

    let mut widths: BTreeMap<u16, f32> = BTreeMap::new();
    let mut to_unicode: BTreeMap<u16, char> = BTreeMap::new();
    for (old, c) in &layout.used {
        let advance = layout.face.glyph_hor_advance(ttf_parser::GlyphId(*old)).unwrap_or(0);
        widths.insert(new_gid(*old), f32::from(advance) * 1000.0 / upem);
        to_unicode.insert(new_gid(*old), *c);
    }

    let mut out = PdfWriter::default();
    let pages = std::mem::take(&mut layout.pages);
    let page_count = pages.len().max(1);
    // Objects: 1 catalog, 2 pages, 3 font, 4 CID font, 5 descriptor, 6 font file, 7 ToUnicode, then pages.
    let first_page = 8;
    out.object(1, "<< /Type /Catalog /Pages 2 0 R >>");
    let kids: Vec<String> = (0..page_count).map(|i| format!("{} 0 R", first_page + 2 * i)).collect();
    out.object(2, &format!("<< /Type /Pages /Kids [{}] /Count {page_count} >>", kids.join(" ")));
    let base = format!("LPNAAA+{name}");
    out.object(
        3,
        &format!("<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H /DescendantFonts [4 0 R] /ToUnicode 7 0 R >>"),
    );
    let w: Vec<String> = widths.iter().map(|(g, w)| format!("{g} [{w:.0}]")).collect();
    let (subtype, extra) = if cff { ("CIDFontType0", "") } else { ("CIDFontType2", " /CIDToGIDMap /Identity") };
    out.object(
        4,
        &format!(
            "<< /Type /Font /Subtype /{subtype} /BaseFont /{base} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 5 0 R /DW 1000 /W [{}]{extra} >>",
            w.join(" ")
        ),
    );
    let scale = |v: i16| (f32::from(v) * 1000.0 / upem).round();
    let file_key = if cff { "FontFile3" } else { "FontFile2" };
    out.object(
        5,
        &format!(
            "<< /Type /FontDescriptor /FontName /{base} /Flags 4 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {ascent:.0} /Descent {descent:.0} /CapHeight {ascent:.0} /StemV 80 /{file_key} 6 0 R >>",
            scale(bbox.x_min),
            scale(bbox.y_min),
            scale(bbox.x_max),
            scale(bbox.y_max)
        ),
    );
    let font_dict = if cff { "/Subtype /OpenType" } else { "" };
    out.stream(6, font_dict, &subset);
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = to_unicode.iter().collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (g, c) in chunk {
            let _ = writeln!(cmap, "<{g:04X}> <{}>", utf16_hex(**c));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    out.stream(7, "", cmap.as_bytes());

    let mut pages = pages;
    if pages.is_empty() {
        pages.push(Vec::new());
    }
    for (i, ops) in pages.iter().enumerate() {
        let page_obj = first_page + 2 * i;
        let mut content = String::from("0.2 w\n");
        for op in ops {
            match op {
                Op::Text { x, y, size, glyphs } => {
                    let hex: String = glyphs.iter().map(|g| format!("{:04X}", new_gid(*g))).collect();
                    let _ = writeln!(content, "BT /F1 {size:.1} Tf {x:.2} {y:.2} Td <{hex}> Tj ET");
                }
                Op::Rule { x1, y1, x2, y2 } => {
                    let _ = writeln!(content, "{x1:.2} {y1:.2} m {x2:.2} {y2:.2} l S");
                }
            }
        }
        out.object(
            page_obj,
            &format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                page_obj + 1
            ),
        );
        out.stream(page_obj + 1, "", content.as_bytes());
    }
    Ok(out.finish(1))
}

/// Objects written in any order, with the cross-reference table at the end.
#[derive(Default)]
struct PdfWriter {
    body: Vec<u8>,
    offsets: BTreeMap<usize, usize>,
}

impl PdfWriter {
    fn header(&mut self) {
        if self.body.is_empty() {
            self.body.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
        }
    }

    fn object(&mut self, id: usize, dict: &str) {
        self.header();
        self.offsets.insert(id, self.body.len());
        self.body.extend_from_slice(format!("{id} 0 obj\n{dict}\nendobj\n").as_bytes());
    }

    fn stream(&mut self, id: usize, extra: &str, data: &[u8]) {
        self.header();
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(data, 6);
        self.offsets.insert(id, self.body.len());
        self.body.extend_from_slice(
            format!("{id} 0 obj\n<< /Length {} /Filter /FlateDecode {extra} >>\nstream\n", compressed.len()).as_bytes(),
        );
        self.body.extend_from_slice(&compressed);
        self.body.extend_from_slice(b"\nendstream\nendobj\n");
    }

    fn finish(mut self, root: usize) -> Vec<u8> {
        let count = self.offsets.keys().max().copied().unwrap_or(0) + 1;
        let xref = self.body.len();
        let mut table = format!("xref\n0 {count}\n0000000000 65535 f \n");
        for id in 1..count {
            match self.offsets.get(&id) {
                Some(off) => {
                    let _ = writeln!(table, "{off:010} 00000 n ");
                }
                None => table.push_str("0000000000 65535 f \n"),
            }
        }
        let _ = write!(table, "trailer\n<< /Size {count} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        self.body.extend_from_slice(table.as_bytes());
        self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_is_a_pdf_whose_text_can_be_read_back() {
        if !available() {
            assert!(std::env::var("LOUPAN_REQUIRE_BROWSER").as_deref() != Ok("1"), "CI needs a CJK font");
            eprintln!("*** PDF test SKIPPED: no CJK font on this machine ***");
            return;
        }
        let pdf = render(&[
            Block::Title("商品房认购书".into()),
            Block::Fields(vec![("房号".into(), "1号楼 1601".into()), ("成交总价".into(), "壹佰万元整".into())]),
            Block::Paragraph("买受人应于认购之日起七日内签订《商品房买卖合同》。".repeat(8)),
            Block::Signatures(vec!["出卖人（盖章）：".into(), "买受人（签字）：".into()]),
        ])
        .unwrap();
        assert!(pdf.starts_with(b"%PDF-1.7"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        assert!(pdf.len() < 200_000, "only the glyphs used are embedded ({} bytes)", pdf.len());
    }
}

//! Printable letters (认购书, notices, the printed 销控图) as PDF. The layout
//! is ours (`layout`: CJK line breaking by Unicode's rules, tables that flow
//! over pages with their header repeated, images, running headers and footers
//! with page numbers, fields placed in millimetres on pre-printed stationery);
//! the PDF is written by krilla (font subsetting with a ToUnicode map, images,
//! compressed streams), so letters stay small, print the same everywhere, and
//! their text can be searched and copied. The font is a CJK font of the machine
//! (`LOUPAN_PDF_FONT`, else the usual Noto/WenQuanYi/PingFang/YaHei paths).

mod font;
mod layout;

use std::sync::Arc;

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, GlyphId, KrillaGlyph};

use font::Metrics;
use layout::{Op, PAGE_H, PAGE_W};

/// What a letter says, top to bottom.
#[derive(Debug, Clone)]
pub enum Block {
    /// A centred title.
    Title(String),
    /// A section heading (larger text).
    Heading(String),
    /// Label and value rows of a ruled table.
    Fields(Vec<(String, String)>),
    /// Running text, wrapped to the page.
    Paragraph(String),
    /// Lines set to the left, centre or right (a sender's name and date on the right).
    Aligned(Align, String),
    /// Signature blanks side by side (`甲方（签章）：`).
    Signatures(Vec<String>),
    /// A ruled table, columns as wide as their cells need; cells wrap (`\n`
    /// breaks a line), and a table longer than the page goes on over the next
    /// ones with its header row repeated.
    Table { header: Vec<String>, rows: Vec<Vec<String>>, size: f32 },
    /// A picture (the company's logo) `width_mm` wide, its height in proportion.
    Image { picture: Picture, width_mm: f32, align: Align },
    /// 套打: text at a fixed place on the current page, in millimetres from the
    /// sheet's top-left corner to the top of the text, wrapped to `width_mm`
    /// when given. It does not move what flows.
    Placed { x_mm: f32, y_mm: f32, width_mm: Option<f32>, size: f32, text: String },
    /// What follows starts on a new page.
    PageBreak,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// A PNG or JPEG picture, decoded once and shared by every letter that shows it.
#[derive(Clone)]
pub struct Picture {
    image: Image,
    /// Width and height in pixels.
    pixels: (u32, u32),
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Picture({}x{})", self.pixels.0, self.pixels.1)
    }
}

impl Picture {
    /// A picture from the bytes of a PNG or JPEG file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, PdfError> {
        let data: krilla::Data = Arc::new(bytes.clone()).into();
        let image = if bytes.starts_with(b"\x89PNG") {
            Image::from_png(data, true)
        } else if bytes.starts_with(&[0xFF, 0xD8]) {
            Image::from_jpeg(data, true)
        } else {
            return Err(PdfError::Picture("only PNG and JPEG pictures can be printed".into()));
        }
        .map_err(PdfError::Picture)?;
        let pixels = image.size();
        Ok(Self { image, pixels })
    }

    /// Width and height in pixels.
    pub fn pixels(&self) -> (u32, u32) {
        self.pixels
    }
}

/// How a letter's pages look around what it says.
#[derive(Debug, Clone, Default)]
pub struct PageStyle {
    /// A line at the top of each page; `{page}` and `{pages}` count the letter's pages.
    pub header: Option<String>,
    /// A line at the bottom of each page, with the same placeholders.
    pub footer: Option<String>,
    /// The scanned pre-printed form (套打) the fields are placed on: drawn
    /// under the letter in previews, never when printing on the form itself.
    pub form: Option<Picture>,
}

/// One letter: its page style and what it says.
#[derive(Debug, Clone, Default)]
pub struct Letter {
    pub style: PageStyle,
    pub blocks: Vec<Block>,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("no CJK font found: install fonts-noto-cjk (or another Chinese font) or set LOUPAN_PDF_FONT")]
    NoFont,
    #[error("font {0}")]
    Font(String),
    #[error("picture: {0}")]
    Picture(String),
    #[error("writing the PDF: {0}")]
    Write(String),
}

/// Whether letters can be made on this machine.
pub fn available() -> bool {
    font::font().is_ok()
}

/// Letters printed one after another into one PDF: each is laid out and its
/// pages written as it comes, so a batch of thousands holds only the written
/// pages (compressed), never the letters themselves.
pub struct Printer {
    document: krilla::Document,
    font: Font,
    metrics: Metrics,
    /// Draw scanned forms under the text (a preview), or not (printing on the form).
    preview: bool,
    pages: usize,
}

impl Printer {
    /// A printer for paper: a form's scan is left out.
    pub fn new() -> Result<Self, PdfError> {
        let file = font::font()?;
        let font =
            Font::new(krilla::Data::from(file.data), file.index).ok_or_else(|| PdfError::Font("unreadable".into()))?;
        Ok(Self { document: krilla::Document::new(), font, metrics: Metrics::new(file)?, preview: false, pages: 0 })
    }

    /// A printer for the screen: a letter on a pre-printed form shows the form under it.
    pub fn preview() -> Result<Self, PdfError> {
        Ok(Self { preview: true, ..Self::new()? })
    }

    /// Lays the letter out and writes its pages; answers how many it took.
    pub fn add(&mut self, letter: &Letter) -> usize {
        let pages = layout::letter(&mut self.metrics, &letter.style, &letter.blocks);
        let form = if self.preview { letter.style.form.as_ref() } else { None };
        for ops in &pages {
            self.page(ops, form);
        }
        self.pages += pages.len();
        pages.len()
    }

    /// Pages written so far.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The PDF's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, PdfError> {
        if self.pages == 0 {
            // A PDF has at least one page.
            self.page(&[], None);
        }
        self.document.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
    }

    fn page(&mut self, ops: &[Op], form: Option<&Picture>) {
        // A4, which is always a valid size.
        let Some(a4) = Size::from_wh(PAGE_W, PAGE_H) else { return };
        let mut page = self.document.start_page_with(PageSettings::new(a4));
        let mut surface = page.surface();
        if let Some(form) = form {
            surface.draw_image(form.image.clone(), a4);
        }
        for op in ops {
            match op {
                Op::Text { x, baseline, size, text } => {
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill::default()));
                    let glyphs: Vec<KrillaGlyph> = text
                        .char_indices()
                        .map(|(i, c)| {
                            let (id, advance) = self.metrics.glyph(c);
                            KrillaGlyph::new(
                                GlyphId::new(u32::from(id)),
                                advance,
                                0.0,
                                0.0,
                                0.0,
                                i..i + c.len_utf8(),
                                None,
                            )
                        })
                        .collect();
                    surface.draw_glyphs(Point::from_xy(*x, *baseline), &glyphs, self.font.clone(), text, *size, false);
                }
                Op::Line { x1, y1, x2, y2, width, gray } => {
                    let mut path = PathBuilder::new();
                    path.move_to(*x1, *y1);
                    path.line_to(*x2, *y2);
                    if let Some(path) = path.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            paint: luma::Color::new(*gray).into(),
                            width: *width,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                    }
                }
                Op::Fill { x, y, w, h, gray } => {
                    let mut path = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                        path.push_rect(rect);
                    }
                    if let Some(path) = path.finish() {
                        surface.set_stroke(None);
                        surface.set_fill(Some(Fill { paint: luma::Color::new(*gray).into(), ..Fill::default() }));
                        surface.draw_path(&path);
                    }
                }
                Op::Image { picture, x, y, w, h } => {
                    if let Some(size) = Size::from_wh(*w, *h) {
                        surface.push_transform(&Transform::from_translate(*x, *y));
                        surface.draw_image(picture.image.clone(), size);
                        surface.pop();
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
}

/// One plain letter (no header, footer or form) as PDF bytes.
pub fn render(blocks: &[Block]) -> Result<Vec<u8>, PdfError> {
    let mut printer = Printer::new()?;
    printer.add(&Letter { style: PageStyle::default(), blocks: blocks.to_vec() });
    printer.finish()
}

/// The calibration page for printing on pre-printed forms (套打): a millimetre grid.
pub fn calibration_page() -> Result<Vec<u8>, PdfError> {
    let mut printer = Printer::new()?;
    let ops = layout::calibration(&mut printer.metrics);
    printer.page(&ops, None);
    printer.pages += 1;
    printer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The font, or a skip where the machine has none (CI has one and requires it).
    fn metrics() -> Option<Metrics> {
        match font::font() {
            Ok(file) => Some(Metrics::new(file).unwrap()),
            Err(_) => {
                assert!(std::env::var("LOUPAN_REQUIRE_BROWSER").as_deref() != Ok("1"), "CI needs a CJK font");
                eprintln!("*** PDF test SKIPPED: no CJK font on this machine ***");
                None
            }
        }
    }

    fn texts(page: &[Op]) -> Vec<&str> {
        page.iter().filter_map(|op| if let Op::Text { text, .. } = op { Some(text.as_str()) } else { None }).collect()
    }

    #[test]
    fn a_letter_is_a_pdf_with_only_the_glyphs_it_uses() {
        if metrics().is_none() {
            return;
        }
        let pdf = render(&[
            Block::Title("商品房认购书".into()),
            Block::Fields(vec![("房号".into(), "1号楼 1601".into()), ("成交总价".into(), "壹佰万元整".into())]),
            Block::Paragraph("买受人应于认购之日起七日内签订《商品房买卖合同》。".repeat(8)),
            Block::Signatures(vec!["出卖人（盖章）：".into(), "买受人（签字）：".into()]),
        ])
        .unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 200_000, "only the glyphs used are embedded ({} bytes)", pdf.len());
    }

    #[test]
    fn chinese_lines_break_anywhere_but_never_before_a_closing_mark_nor_after_an_opening_one() {
        let Some(mut m) = metrics() else { return };
        let text = "您购买的翠湖花园（一期）3号楼 1601 号房，已逾期应付款人民币 123,456.00 元。请您于收到本通知之日起七日内到售楼处办理缴款，如已缴付，请忽略本通知。";
        for width in [60.0, 80.0, 100.0, 130.0, 170.0, 230.0] {
            let lines = layout::lines(&mut m, text, 10.5, width);
            assert!(lines.len() > 1);
            assert_eq!(lines.iter().map(|(l, _)| l.replace(' ', "")).collect::<String>(), text.replace(' ', ""));
            for (line, w) in &lines {
                assert!(*w <= width + 0.01, "{line} is {w} wide at {width}");
                assert!(!line.starts_with(['，', '。', '）', '、']), "{line} starts with a closing mark");
                assert!(!line.ends_with('（'), "{line} ends with an opening mark");
                // Numbers are not cut in two when they fit on a line.
                assert!(!line.ends_with("123,") && !line.starts_with("456"), "{line}");
            }
        }
    }

    #[test]
    fn a_long_table_flows_over_pages_with_its_header_on_each_and_pages_are_numbered() {
        let Some(mut m) = metrics() else { return };
        let rows: Vec<Vec<String>> = (1..=80)
            .map(|i| vec![format!("第{i}期"), format!("2027-{:02}-15", i % 12 + 1), format!("{},000.00", 100 + i)])
            .collect();
        let style = PageStyle {
            header: Some("翠湖花园".into()),
            footer: Some("第 {page} 页 共 {pages} 页".into()),
            form: None,
        };
        let blocks = vec![
            Block::Title("付款计划".into()),
            Block::Table {
                header: vec!["期次".into(), "到期日".into(), "应收（元）".into()], rows, size: 10.5
            },
            Block::Aligned(Align::Right, "营销中心".into()),
        ];
        let pages = layout::letter(&mut m, &style, &blocks);
        assert!(pages.len() >= 3, "80 rows take several pages ({})", pages.len());
        let mut seen = Vec::new();
        for (i, page) in pages.iter().enumerate() {
            let t = texts(page);
            assert!(t.contains(&"期次"), "page {} repeats the header", i + 1);
            assert!(t.contains(&"翠湖花园"));
            let footer = format!("第 {} 页 共 {} 页", i + 1, pages.len());
            assert!(t.contains(&footer.as_str()), "page {} says {footer}", i + 1);
            seen.extend(t.iter().filter(|s| s.starts_with('第') && s.ends_with('期')).map(|s| (*s).to_owned()));
            for op in page {
                if let Op::Text { baseline, .. } = op {
                    assert!(*baseline > 0.0 && *baseline < PAGE_H, "inside the sheet");
                }
            }
        }
        let expected: Vec<String> = (1..=80).map(|i| format!("第{i}期")).collect();
        assert_eq!(seen, expected, "every row printed once, in order");
        // The amounts stand right-aligned: their right edges agree.
        let rights: Vec<f32> = pages[0]
            .iter()
            .filter_map(|op| match op {
                Op::Text { x, text, size, .. } if text.ends_with(".00") => Some(x + m.width(text, *size)),
                _ => None,
            })
            .collect();
        assert!(rights.windows(2).all(|w| (w[0] - w[1]).abs() < 0.01), "{rights:?}");
    }

    #[test]
    fn placed_fields_stand_where_the_form_says_in_millimetres_and_the_form_prints_only_in_previews() {
        let Some(mut m) = metrics() else { return };
        let blocks = vec![Block::Placed { x_mm: 30.0, y_mm: 45.0, width_mm: None, size: 12.0, text: "张三".into() }];
        let pages = layout::letter(&mut m, &PageStyle::default(), &blocks);
        let Some(Op::Text { x, baseline, .. }) = pages[0].first() else { panic!("a text") };
        assert!((x / layout::MM - 30.0).abs() < 0.01);
        assert!((baseline - 12.0 * m.ascent) / layout::MM - 45.0 < 0.01);
        // A 1x1 PNG as the scanned form: in the preview, not on paper.
        let png = [
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0,
            1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE, 0, 0, 0, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x08, 0xD7, 0x63, 0xF8,
            0xCF, 0xC0, 0, 0, 0x03, 0x01, 0x01, 0, 0x18, 0xDD, 0x8D, 0xB0, 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE,
            0x42, 0x60, 0x82,
        ];
        let form = Picture::from_bytes(png.to_vec()).unwrap();
        let letter = Letter { style: PageStyle { form: Some(form), ..PageStyle::default() }, blocks };
        let with_form = |mut p: Printer| {
            p.add(&letter);
            let pdf = p.finish().unwrap();
            let xobject = b"/Subtype/Image";
            pdf.windows(xobject.len()).any(|w| w == xobject)
        };
        assert!(with_form(Printer::preview().unwrap()));
        assert!(!with_form(Printer::new().unwrap()));
        assert!(Picture::from_bytes(b"GIF89a".to_vec()).is_err());
        assert!(calibration_page().unwrap().starts_with(b"%PDF-"));
    }
}

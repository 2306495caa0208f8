//! Blocks flowed onto A4 pages, top to bottom, in points from the page's
//! top-left corner. Lines break where Unicode's line-breaking rules (UAX #14)
//! allow: between Chinese characters, never before a closing mark such as
//! `，。）》` nor after an opening one such as `（《“`, and inside a Latin word or
//! a number only when it is wider than the line.

use super::font::Metrics;
use super::{Align, Block, PageStyle, Picture};

pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
/// Points in a millimetre.
pub(crate) const MM: f32 = 72.0 / 25.4;
const MARGIN_X: f32 = 60.0;
const MARGIN_Y: f32 = 60.0;
/// The running header and footer need this much more room at the top and the bottom.
const RUNNING: f32 = 14.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN_X;
const BODY: f32 = 10.5;
const LABEL_W: f32 = 120.0;

/// What a page shows, in the order it is drawn.
pub(crate) enum Op {
    /// One line of text; `baseline` is where the glyphs stand.
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        gray: u8,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        gray: u8,
    },
    Image {
        picture: Picture,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

/// Splits `text` into lines no wider than `width` at `size`; `\n` always breaks.
/// Each line comes with its width.
pub(crate) fn lines(m: &mut Metrics, text: &str, size: f32, width: f32) -> Vec<(String, f32)> {
    let mut out = Vec::new();
    for paragraph in text.split('\n') {
        let paragraph = paragraph.trim_end_matches('\r');
        let mut line = String::new();
        let mut line_w = 0.0;
        let mut start = 0;
        let mut push = |line: &mut String, line_w: &mut f32, m: &mut Metrics| {
            let kept = line.trim_end().to_owned();
            let w = m.width(&kept, size);
            out.push((kept, w));
            line.clear();
            *line_w = 0.0;
        };
        for (end, _) in unicode_linebreak::linebreaks(paragraph) {
            let segment = &paragraph[start..end];
            start = end;
            // Spaces at a line's end take no room.
            let visible = m.width(segment.trim_end(), size);
            if !line.is_empty() && line_w + visible > width {
                push(&mut line, &mut line_w, m);
            }
            if line.is_empty() && visible > width {
                // Wider than a whole line (a long number, a URL): broken anywhere.
                for c in segment.chars() {
                    let w = m.glyph(c).1 * size;
                    if !line.is_empty() && line_w + w > width && !c.is_whitespace() {
                        push(&mut line, &mut line_w, m);
                    }
                    line.push(c);
                    line_w += w;
                }
                continue;
            }
            line.push_str(segment);
            line_w += m.width(segment, size);
        }
        push(&mut line, &mut line_w, m);
    }
    out
}

/// Lays one letter out: its pages, each a list of drawing operations, with the
/// running header and footer (`{page}` and `{pages}` counted within the letter).
pub(crate) fn letter(m: &mut Metrics, style: &PageStyle, blocks: &[Block]) -> Vec<Vec<Op>> {
    let top = MARGIN_Y + if style.header.is_some() { RUNNING } else { 0.0 };
    let bottom = PAGE_H - MARGIN_Y - if style.footer.is_some() { RUNNING } else { 0.0 };
    let mut flow = Flow { m, pages: vec![Vec::new()], y: top, top, bottom };
    for block in blocks {
        flow.block(block);
    }
    let mut pages = flow.pages;
    let count = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        let number = |t: &str| t.replace("{page}", &(i + 1).to_string()).replace("{pages}", &count.to_string());
        if let Some(header) = &style.header {
            running(m, page, &number(header), MARGIN_Y - 6.0);
            page.push(Op::Line {
                x1: MARGIN_X,
                y1: MARGIN_Y,
                x2: PAGE_W - MARGIN_X,
                y2: MARGIN_Y,
                width: 0.4,
                gray: 120,
            });
        }
        if let Some(footer) = &style.footer {
            running(m, page, &number(footer), PAGE_H - MARGIN_Y + 12.0);
        }
    }
    pages
}

/// A running header or footer line, centred, its baseline at `baseline`.
fn running(m: &mut Metrics, page: &mut Vec<Op>, text: &str, baseline: f32) {
    let size = 9.0;
    if let Some((line, w)) = lines(m, text, size, CONTENT_W).into_iter().next() {
        page.push(Op::Text { x: (PAGE_W - w) / 2.0, baseline, size, text: line });
    }
}

/// The calibration page for pre-printed stationery: a millimetre grid over the
/// whole sheet, bolder every 5 and 10 mm, numbered every 10 mm from the sheet's
/// top-left corner, and a 100 mm bar to check that the printer did not scale.
pub(crate) fn calibration(m: &mut Metrics) -> Vec<Op> {
    let mut ops = Vec::new();
    let (w_mm, h_mm) = ((PAGE_W / MM).floor() as i32, (PAGE_H / MM).floor() as i32);
    let weight = |i: i32| {
        if i % 10 == 0 {
            (0.5, 60)
        } else if i % 5 == 0 {
            (0.3, 140)
        } else {
            (0.1, 200)
        }
    };
    for i in 0..=w_mm {
        let (width, gray) = weight(i);
        let x = i as f32 * MM;
        ops.push(Op::Line { x1: x, y1: 0.0, x2: x, y2: PAGE_H, width, gray });
    }
    for j in 0..=h_mm {
        let (width, gray) = weight(j);
        let y = j as f32 * MM;
        ops.push(Op::Line { x1: 0.0, y1: y, x2: PAGE_W, y2: y, width, gray });
    }
    let size = 5.5;
    for i in (10..w_mm).step_by(10) {
        for j in (10..h_mm).step_by(50) {
            ops.push(Op::Text { x: i as f32 * MM + 0.6, baseline: j as f32 * MM - 0.8, size, text: i.to_string() });
        }
    }
    for j in (10..h_mm).step_by(10) {
        for i in (10..w_mm).step_by(50) {
            ops.push(Op::Text { x: i as f32 * MM + 0.6, baseline: j as f32 * MM - 0.8, size, text: j.to_string() });
        }
    }
    let (x, y) = (50.0 * MM, 142.0 * MM);
    ops.push(Op::Fill { x, y: y - 4.0, w: 100.0 * MM, h: 4.0, gray: 0 });
    let note = "校准页 Calibration：每小格 1 mm，粗线每 10 mm，数字为距纸张左上角的毫米数。请以“实际大小/100%”打印，上方黑条应长 100 mm。";
    for (k, (line, _)) in lines(m, note, 8.0, 100.0 * MM).into_iter().enumerate() {
        ops.push(Op::Fill { x: x - 1.0, y: y + 4.0 + k as f32 * 11.0, w: 100.0 * MM + 2.0, h: 11.0, gray: 255 });
        ops.push(Op::Text { x, baseline: y + 12.0 + k as f32 * 11.0, size: 8.0, text: line });
    }
    ops
}

struct Flow<'m> {
    m: &'m mut Metrics,
    pages: Vec<Vec<Op>>,
    /// Where the next block starts, down from the page's top.
    y: f32,
    top: f32,
    bottom: f32,
}

impl Flow<'_> {
    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.top;
    }

    /// Room for `height` more points, or a new page (unless this one is still
    /// empty: something taller than a page is drawn anyway rather than never).
    fn need(&mut self, height: f32) -> bool {
        if self.y + height > self.bottom && self.y > self.top {
            self.new_page();
            return true;
        }
        false
    }

    fn text(&mut self, x: f32, top: f32, size: f32, text: String) {
        let baseline = top + size * self.m.ascent;
        self.page().push(Op::Text { x, baseline, size, text });
    }

    fn rule(&mut self, x1: f32, y1: f32, x2: f32, y2: f32) {
        self.page().push(Op::Line { x1, y1, x2, y2, width: 0.4, gray: 0 });
    }

    fn aligned(&mut self, align: Align, text: &str, size: f32, leading: f32) {
        for (line, w) in lines(self.m, text, size, CONTENT_W) {
            self.need(size * leading);
            let x = match align {
                Align::Left => MARGIN_X,
                Align::Center => (PAGE_W - w) / 2.0,
                Align::Right => PAGE_W - MARGIN_X - w,
            };
            let y = self.y;
            self.text(x, y, size, line);
            self.y += size * leading;
        }
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::PageBreak => self.new_page(),
            Block::Title(t) => {
                self.aligned(Align::Center, t, 18.0, 1.6);
                self.y += 8.0;
            }
            Block::Heading(t) => {
                self.y += 6.0;
                self.need(12.5 * 1.6 + BODY * 1.7);
                self.aligned(Align::Left, t, 12.5, 1.6);
            }
            Block::Paragraph(t) => {
                self.aligned(Align::Left, t, BODY, 1.7);
                self.y += 4.0;
            }
            Block::Aligned(align, t) => {
                self.aligned(*align, t, BODY, 1.7);
            }
            Block::Fields(rows) => self.fields(rows),
            Block::Table { header, rows, size } => self.table(header, rows, *size),
            Block::Signatures(parties) => {
                self.y += 24.0;
                self.need(60.0);
                let col = CONTENT_W / parties.len().max(1) as f32;
                let y = self.y;
                for (i, p) in parties.iter().enumerate() {
                    self.text(MARGIN_X + i as f32 * col, y, BODY, p.clone());
                }
                let line_y = y + 40.0;
                for i in 0..parties.len() {
                    let x = MARGIN_X + i as f32 * col;
                    self.rule(x, line_y, x + col - 20.0, line_y);
                }
                self.y = line_y + 12.0;
            }
            Block::Image { picture, width_mm, align } => {
                let (pw, ph) = picture.pixels;
                let w = (width_mm * MM).min(CONTENT_W);
                let h = w * ph as f32 / pw.max(1) as f32;
                self.need(h);
                let x = match align {
                    Align::Left => MARGIN_X,
                    Align::Center => (PAGE_W - w) / 2.0,
                    Align::Right => PAGE_W - MARGIN_X - w,
                };
                let y = self.y;
                self.page().push(Op::Image { picture: picture.clone(), x, y, w, h });
                self.y += h + 6.0;
            }
            Block::Placed { x_mm, y_mm, width_mm, size, text } => {
                let width = width_mm.map_or(f32::INFINITY, |w| w * MM);
                for (k, (line, _)) in lines(self.m, text, *size, width).into_iter().enumerate() {
                    let top = y_mm * MM + k as f32 * size * 1.3;
                    self.text(x_mm * MM, top, *size, line);
                }
            }
        }
    }

    fn fields(&mut self, rows: &[(String, String)]) {
        self.need(8.0);
        let y = self.y;
        self.rule(MARGIN_X, y, PAGE_W - MARGIN_X, y);
        for (label, value) in rows {
            let labels = lines(self.m, label, BODY, LABEL_W - 8.0);
            let values = lines(self.m, value, BODY, CONTENT_W - LABEL_W - 8.0);
            let height = labels.len().max(values.len()) as f32 * BODY * 1.5 + 8.0;
            if self.need(height) {
                let y = self.y;
                self.rule(MARGIN_X, y, PAGE_W - MARGIN_X, y);
            }
            let row_top = self.y;
            for (i, (line, _)) in labels.into_iter().enumerate() {
                self.text(MARGIN_X + 4.0, row_top + 4.0 + i as f32 * BODY * 1.5, BODY, line);
            }
            for (i, (line, _)) in values.into_iter().enumerate() {
                self.text(MARGIN_X + LABEL_W + 4.0, row_top + 4.0 + i as f32 * BODY * 1.5, BODY, line);
            }
            self.y = row_top + height;
            let y = self.y;
            self.rule(MARGIN_X, y, PAGE_W - MARGIN_X, y);
        }
        self.y += 10.0;
    }

    /// Column widths from what the cells hold: all at their natural width
    /// when they fit (the spare room shared out), else shared in proportion.
    fn column_widths(&mut self, all: &[&[String]], cols: usize, size: f32, pad: f32) -> Vec<f32> {
        let mut natural = vec![size * 2.0 + 2.0 * pad; cols];
        for row in all {
            for (i, cell) in row.iter().enumerate().take(cols) {
                let widest = cell.split('\n').map(|l| self.m.width(l, size)).fold(0.0, f32::max);
                natural[i] = natural[i].max(widest + 2.0 * pad);
            }
        }
        let sum: f32 = natural.iter().sum();
        natural.iter().map(|w| w * CONTENT_W / sum).collect()
    }

    fn table(&mut self, header: &[String], rows: &[Vec<String>], size: f32) {
        let cols = header.len().max(rows.iter().map(Vec::len).max().unwrap_or(0)).max(1);
        let pad = 3.0;
        let mut all: Vec<&[String]> = vec![header];
        all.extend(rows.iter().map(Vec::as_slice));
        let widths = self.column_widths(&all, cols, size, pad);
        self.y += 2.0;
        // The header row starts the table and every page it flows onto.
        let header_h = self.row_height(header, &widths, size, pad);
        self.need(header_h + size * 2.0);
        self.row(header, &widths, size, pad, true);
        for row in rows {
            let h = self.row_height(row, &widths, size, pad);
            if self.need(h) {
                self.row(header, &widths, size, pad, true);
            }
            self.row(row, &widths, size, pad, false);
        }
        self.y += 10.0;
    }

    fn row_height(&mut self, row: &[String], widths: &[f32], size: f32, pad: f32) -> f32 {
        let most = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| lines(self.m, cell, size, w - 2.0 * pad).len())
            .max()
            .unwrap_or(1)
            .max(1);
        most as f32 * size * 1.4 + 2.0 * pad
    }

    fn row(&mut self, row: &[String], widths: &[f32], size: f32, pad: f32, header: bool) {
        let h = self.row_height(row, widths, size, pad);
        let top = self.y;
        if header {
            self.page().push(Op::Fill { x: MARGIN_X, y: top, w: CONTENT_W, h, gray: 235 });
        }
        let mut x = MARGIN_X;
        for (i, w) in widths.iter().enumerate() {
            let cell = row.get(i).map_or("", String::as_str);
            // Amounts and counts line up on the right.
            let numeric =
                !header && !cell.is_empty() && cell.chars().all(|c| c.is_ascii_digit() || ",.-%¥ ".contains(c));
            for (k, (line, lw)) in lines(self.m, cell, size, w - 2.0 * pad).into_iter().enumerate() {
                let lx = if header {
                    x + (w - lw) / 2.0
                } else if numeric {
                    x + w - pad - lw
                } else {
                    x + pad
                };
                self.text(lx, top + pad + k as f32 * size * 1.4, size, line);
            }
            x += w;
        }
        self.rule(MARGIN_X, top, PAGE_W - MARGIN_X, top);
        self.rule(MARGIN_X, top + h, PAGE_W - MARGIN_X, top + h);
        let mut x = MARGIN_X;
        self.rule(x, top, x, top + h);
        for w in widths {
            x += w;
            self.rule(x, top, x, top + h);
        }
        self.y = top + h;
    }
}

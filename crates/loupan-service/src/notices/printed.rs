//! Letters as printed. A letter template writes plain text with a few marks,
//! read after the template language has filled it in, one per line:
//!
//! - `# 标题` a centred title, `## 小标题` a heading, a blank line between paragraphs;
//! - `| 期次 | 到期日 | 金额 |` rows of a table, the first row its header (a
//!   `|---|` row is skipped); a long table goes on over the next pages under
//!   its header again;
//! - `@right 文本`, `@center 文本` a line set to the right or the centre;
//! - `@header 文本`, `@footer 文本` a line on every page, `{page}` and
//!   `{pages}` counting the letter's pages;
//! - `@image <picture> [width mm] [left|center|right]` a picture;
//! - `@logo [width mm] [left|center|right]` the company's logo from the
//!   letterhead (nothing while it has none);
//! - `@form <picture>` the scanned pre-printed form (套打): shown under the
//!   letter in previews, never printed; `@at x,y[,width] 文本` places text at
//!   millimetres from the sheet's top-left corner (find them on the calibration page);
//! - `@pagebreak`.
//!
//! Pictures are uploaded once and named by their content's hash, so a
//! template version names the same picture for ever.

use std::collections::{HashMap, HashSet};

use loupan_domain::ids::NoticeBatchId;

use loupan_documents::pdf::{self, Align, Block, Picture, Printer};
use sha2::{Digest, Sha256};

use crate::platform::files::store_failed;
use crate::{Actor, ServiceError, ServiceResult, Services};
use loupan_domain::{Invalid, Permission};

/// Largest picture accepted (a logo, a scanned A4 form as JPEG): the largest request body.
pub const MAX_PICTURE_BYTES: usize = 1024 * 1024;
/// Text placed with `@at` is this size unless said otherwise.
const PLACED_SIZE: f32 = 11.0;

/// A letter read from its marks; pictures still by name.
#[derive(Debug, Default)]
pub struct Markup {
    header: Option<String>,
    footer: Option<String>,
    form: Option<String>,
    parts: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    Block(Block),
    Image {
        picture: String,
        width_mm: f32,
        align: Align,
    },
    /// The letterhead's logo, whichever it is when the letter is printed.
    Logo {
        width_mm: f32,
        align: Align,
    },
}

/// A mark that could not be read, on a line counted from 1.
#[derive(Debug, PartialEq)]
pub struct MarkError {
    pub line: usize,
    pub detail: String,
}

pub(crate) fn is_picture_name(name: &str) -> bool {
    name.len() == 32 && name.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

fn millimetres(text: &str) -> Option<f32> {
    text.trim().trim_end_matches("mm").parse::<f32>().ok().filter(|v| v.is_finite() && (0.0..=1000.0).contains(v))
}

/// Reads a filled-in letter. Marks that cannot be read are errors (shown when
/// a template is saved); the letter keeps such a line as text.
pub fn parse(text: &str) -> (Markup, Vec<MarkError>) {
    let mut markup = Markup::default();
    let mut errors = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, table: &mut Vec<Vec<String>>, parts: &mut Vec<Part>| {
        if !paragraph.is_empty() {
            parts.push(Part::Block(Block::Paragraph(paragraph.join("\n"))));
            paragraph.clear();
        }
        if !table.is_empty() {
            let mut rows = std::mem::take(table);
            let header = rows.remove(0);
            parts.push(Part::Block(Block::Table { header, rows, size: 10.5 }));
        }
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        let trimmed = line.trim_start();
        if trimmed.starts_with('|') {
            if !paragraph.is_empty() {
                flush(&mut paragraph, &mut Vec::new(), &mut markup.parts);
            }
            let inner = trimmed.trim_start_matches('|');
            let inner = inner.strip_suffix('|').unwrap_or(inner);
            let cells: Vec<String> = inner.split('|').map(|c| c.trim().to_owned()).collect();
            let rule = cells.iter().all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')));
            if !rule {
                table.push(cells);
            }
            continue;
        }
        if !table.is_empty() {
            flush(&mut Vec::new(), &mut table, &mut markup.parts);
        }
        if let Some(title) = trimmed.strip_prefix("# ") {
            flush(&mut paragraph, &mut table, &mut markup.parts);
            markup.parts.push(Part::Block(Block::Title(title.trim().to_owned())));
        } else if let Some(heading) = trimmed.strip_prefix("## ") {
            flush(&mut paragraph, &mut table, &mut markup.parts);
            markup.parts.push(Part::Block(Block::Heading(heading.trim().to_owned())));
        } else if trimmed.is_empty() {
            flush(&mut paragraph, &mut table, &mut markup.parts);
        } else if let Some(mark) = trimmed.strip_prefix('@').filter(|m| m.starts_with(|c: char| c.is_ascii_lowercase()))
        {
            flush(&mut paragraph, &mut table, &mut markup.parts);
            let (name, rest) = mark.split_once(char::is_whitespace).unwrap_or((mark, ""));
            let rest = rest.trim();
            if let Err(detail) = markup.mark(name, rest) {
                errors.push(MarkError { line: i + 1, detail });
                markup.parts.push(Part::Block(Block::Paragraph(trimmed.to_owned())));
            }
        } else {
            paragraph.push(line);
        }
    }
    flush(&mut paragraph, &mut table, &mut markup.parts);
    (markup, errors)
}

impl Markup {
    fn mark(&mut self, name: &str, rest: &str) -> Result<(), String> {
        let text = || rest.to_owned();
        match name {
            "right" => self.parts.push(Part::Block(Block::Aligned(Align::Right, text()))),
            "center" => self.parts.push(Part::Block(Block::Aligned(Align::Center, text()))),
            "header" => self.header = Some(text()),
            "footer" => self.footer = Some(text()),
            "pagebreak" => self.parts.push(Part::Block(Block::PageBreak)),
            "form" => {
                if !is_picture_name(rest) {
                    return Err(format!("@form needs a picture's name, not \"{rest}\""));
                }
                self.form = Some(text());
            }
            "image" => {
                let (picture, size) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                if !is_picture_name(picture) {
                    return Err(format!("@image needs a picture's name, not \"{picture}\""));
                }
                let (width_mm, align) = size_and_place("@image", size)?;
                self.parts.push(Part::Image { picture: picture.to_owned(), width_mm, align });
            }
            "logo" => {
                let (width_mm, align) = size_and_place("@logo", rest)?;
                self.parts.push(Part::Logo { width_mm, align });
            }
            "at" => {
                let (place, words) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                let numbers: Vec<Option<f32>> = place.split(',').map(millimetres).collect();
                let (x_mm, y_mm, width_mm) = match numbers.as_slice() {
                    [Some(x), Some(y)] => (*x, *y, None),
                    [Some(x), Some(y), Some(w)] => (*x, *y, Some(*w)),
                    _ => return Err(format!("@at needs x,y or x,y,width in mm, not \"{place}\"")),
                };
                let text = words.trim().to_owned();
                self.parts.push(Part::Block(Block::Placed { x_mm, y_mm, width_mm, size: PLACED_SIZE, text }));
            }
            other => return Err(format!("@{other} is not a mark letters know")),
        }
        Ok(())
    }

    fn shows_logo(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Logo { .. }))
    }

    /// The names of the pictures the letter shows (the logo aside).
    pub fn pictures(&self) -> impl Iterator<Item = &str> {
        self.form.as_deref().into_iter().chain(self.parts.iter().filter_map(|p| match p {
            Part::Image { picture, .. } => Some(picture.as_str()),
            Part::Block(_) | Part::Logo { .. } => None,
        }))
    }
}

/// A picture's width in mm and its place on the line: `30 right`; 40 mm at the left unless said.
fn size_and_place(mark: &str, words: &str) -> Result<(f32, Align), String> {
    let (mut width_mm, mut align) = (40.0, Align::Left);
    for word in words.split_whitespace() {
        match word {
            "left" => align = Align::Left,
            "center" => align = Align::Center,
            "right" => align = Align::Right,
            w => width_mm = millimetres(w).ok_or_else(|| format!("{mark}: \"{w}\" is not a width in mm"))?,
        }
    }
    Ok((width_mm, align))
}

/// A letter's text as it reads in an e-mail: marks that only mean something on paper left out.
pub fn plain(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let Some(mark) = trimmed.strip_prefix('@') else {
            out.push(line.to_owned());
            continue;
        };
        let (name, rest) = mark.split_once(char::is_whitespace).unwrap_or((mark, ""));
        match name {
            "right" | "center" => out.push(rest.trim().to_owned()),
            "at" => out.push(
                rest.trim().split_once(char::is_whitespace).map(|(_, t)| t.trim().to_owned()).unwrap_or_default(),
            ),
            "header" | "footer" | "pagebreak" | "form" | "image" | "logo" => {}
            _ => out.push(line.to_owned()),
        }
    }
    out.join("\n")
}

fn picture_key(name: &str) -> String {
    format!("notices/pictures/{name}")
}

/// Whether a picture of that name was uploaded.
pub async fn picture_exists(services: &Services, name: &str) -> ServiceResult<bool> {
    let key = picture_key(name);
    Ok(services.files.head(&key).await.map_err(|e| store_failed(&key, e))?.is_some())
}

/// A picture for letters (a logo, a scanned form), PNG or JPEG; answers its
/// name for `@image` and `@form` and its size in pixels.
pub async fn upload_picture(services: &Services, actor: &Actor, bytes: Vec<u8>) -> ServiceResult<(String, u32, u32)> {
    actor.require(Permission::SendNotices)?;
    if bytes.is_empty() {
        return Err(Invalid::one("file", "empty_file").into());
    }
    if bytes.len() > MAX_PICTURE_BYTES {
        return Err(Invalid::one("file", "file_too_large").into());
    }
    let picture = Picture::from_bytes(bytes.clone()).map_err(|_| Invalid::one("file", "unsupported_file_type"))?;
    let (w, h) = picture.pixels();
    // 128 bits of SHA-256: short enough to read in a template, long enough never to collide.
    let name = hex::encode(&Sha256::digest(&bytes)[..16]);
    let key = picture_key(&name);
    if !picture_exists(services, &name).await? {
        services.files.put(&key, Box::pin(std::io::Cursor::new(bytes))).await.map_err(|e| store_failed(&key, e))?;
    }
    Ok((name, w, h))
}

/// The pictures some letters show, read from the file store once however many letters show them.
#[derive(Default)]
pub struct Pictures {
    named: HashMap<String, Picture>,
    /// The letterhead's logo, read when a letter shows it.
    logo: Option<Picture>,
}

impl Pictures {
    /// Reads every picture the filled-in `texts` name.
    pub async fn of<'a>(services: &Services, texts: impl IntoIterator<Item = &'a str>) -> ServiceResult<Pictures> {
        let mut pictures = Pictures::default();
        let mut logo_wanted = false;
        for text in texts {
            let (markup, _) = parse(text);
            logo_wanted |= markup.shows_logo();
            for name in markup.pictures() {
                if !pictures.named.contains_key(name) {
                    pictures.named.insert(name.to_owned(), read_picture(services, name).await?);
                }
            }
        }
        if logo_wanted && let Some(name) = super::letterhead::stored(services).await?.logo {
            pictures.logo = Some(read_picture(services, &name).await?);
        }
        Ok(pictures)
    }

    fn get(&self, name: &str) -> ServiceResult<Picture> {
        self.named.get(name).cloned().ok_or_else(|| ServiceError::internal(format!("picture {name} was not read")))
    }
}

async fn read_picture(services: &Services, name: &str) -> ServiceResult<Picture> {
    let key = picture_key(name);
    let mut body = services.files.get(&key).await.map_err(|e| store_failed(&key, e))?;
    let mut bytes = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut body.reader, &mut bytes).await.map_err(|e| store_failed(&key, e))?;
    Picture::from_bytes(bytes).map_err(ServiceError::internal)
}

/// Prints filled-in letters into one PDF, each numbered on its own; `preview`
/// shows a pre-printed form's scan under its letter. Laying out is work for
/// the processor, not for the runtime: call it from `spawn_blocking` (see `print_apart`).
pub fn print<S: AsRef<str>>(texts: &[S], pictures: &Pictures, preview: bool) -> ServiceResult<Vec<u8>> {
    let mut printer = if preview { Printer::preview()? } else { Printer::new()? };
    for text in texts {
        add_letter(&mut printer, text.as_ref(), pictures)?;
    }
    Ok(printer.finish()?)
}

/// Lays out one filled-in letter and writes its pages.
fn add_letter(printer: &mut Printer, text: &str, pictures: &Pictures) -> ServiceResult<()> {
    let (markup, _) = parse(text);
    let form = markup.form.as_deref().map(|name| pictures.get(name)).transpose()?;
    let mut blocks = Vec::with_capacity(markup.parts.len());
    for part in markup.parts {
        blocks.push(match part {
            Part::Block(b) => b,
            Part::Image { picture, width_mm, align } => {
                Block::Image { picture: pictures.get(&picture)?, width_mm, align }
            }
            Part::Logo { width_mm, align } => match &pictures.logo {
                Some(picture) => Block::Image { picture: picture.clone(), width_mm, align },
                None => continue,
            },
        });
    }
    let style = pdf::PageStyle { header: markup.header, footer: markup.footer, form };
    printer.add(&pdf::Letter { style, blocks });
    Ok(())
}

/// A batch's letters that went out, printed into one PDF in print order
/// (None when none went out). The texts are read from the database a chunk
/// at a time and handed, with any picture first needed there, to a blocking
/// thread that lays them out as they come: neither the batch's texts nor its
/// laid-out letters are ever held all at once, only the PDF being written.
pub async fn print_batch(services: &Services, batch: &NoticeBatchId) -> ServiceResult<Option<Vec<u8>>> {
    struct Chunk {
        texts: Vec<String>,
        pictures: Vec<(String, Picture)>,
        logo: Option<Picture>,
    }
    let (chunks, mut received) = tokio::sync::mpsc::channel::<Chunk>(2);
    let printing = tokio::task::spawn_blocking(move || -> ServiceResult<Option<Vec<u8>>> {
        let mut printer = Printer::new()?;
        let mut pictures = Pictures::default();
        while let Some(chunk) = received.blocking_recv() {
            pictures.named.extend(chunk.pictures);
            pictures.logo = chunk.logo.or(pictures.logo.take());
            for text in &chunk.texts {
                add_letter(&mut printer, text, &pictures)?;
            }
        }
        if printer.pages() == 0 {
            return Ok(None);
        }
        Ok(Some(printer.finish()?))
    });
    let conn = services.store.conn();
    let (mut read, mut logo_read, mut after) = (HashSet::new(), false, -1);
    loop {
        let page = loupan_store::notices::sent_texts(conn, batch, after, 200).await?;
        let Some(&(last, _)) = page.last() else { break };
        after = last;
        let texts: Vec<String> = page.into_iter().map(|(_, text)| text).collect();
        let (mut pictures, mut logo) = (Vec::new(), None);
        for text in &texts {
            let (markup, _) = parse(text);
            for name in markup.pictures() {
                if read.insert(name.to_owned()) {
                    pictures.push((name.to_owned(), read_picture(services, name).await?));
                }
            }
            if markup.shows_logo() && !logo_read {
                logo_read = true;
                if let Some(name) = super::letterhead::stored(services).await?.logo {
                    logo = Some(read_picture(services, &name).await?);
                }
            }
        }
        // A printer that stopped has its error waiting below.
        if chunks.send(Chunk { texts, pictures, logo }).await.is_err() {
            break;
        }
    }
    drop(chunks);
    printing.await.map_err(ServiceError::internal)?
}

/// `print` on a blocking thread, with the pictures read first: a batch of
/// thousands of letters keeps the runtime free for everyone else's requests.
pub async fn print_apart(services: &Services, texts: Vec<String>, preview: bool) -> ServiceResult<Vec<u8>> {
    let pictures = Pictures::of(services, texts.iter().map(String::as_str)).await?;
    tokio::task::spawn_blocking(move || print(&texts, &pictures, preview)).await.map_err(ServiceError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGO: &str = "3f0c2b7e9d1a4c5b6e7f8091a2b3c4d5";

    #[test]
    fn marks_become_blocks_and_bad_marks_are_named_with_their_line() {
        let text = format!(
            "@header 翠湖花园\n@footer 第 {{page}} 页 共 {{pages}} 页\n@image {LOGO} 30 right\n@logo 25 center\n# 催款通知书\n\n尊敬的 张三：\n请于七日内缴款。\n\n| 期次 | 金额 |\n|---|---:|\n| 1 | 100.00 |\n| 2 | 200.00 |\n@right 营销中心\n@at 30,45,60 张三\n@pagebreak\n@colour red\n@at 30 张三"
        );
        let (markup, errors) = parse(&text);
        assert_eq!(markup.header.as_deref(), Some("翠湖花园"));
        assert_eq!(markup.footer.as_deref(), Some("第 {page} 页 共 {pages} 页"));
        assert_eq!(markup.pictures().collect::<Vec<_>>(), vec![LOGO]);
        let kinds: Vec<String> = markup
            .parts
            .iter()
            .map(|p| match p {
                Part::Image { width_mm, align, .. } => format!("image {width_mm} {align:?}"),
                Part::Logo { width_mm, align } => format!("logo {width_mm} {align:?}"),
                Part::Block(Block::Title(t)) => format!("title {t}"),
                Part::Block(Block::Paragraph(t)) => format!("p {t}"),
                Part::Block(Block::Table { header, rows, .. }) => format!("table {header:?} {rows:?}"),
                Part::Block(Block::Aligned(a, t)) => format!("{a:?} {t}"),
                Part::Block(Block::Placed { x_mm, y_mm, width_mm, text, .. }) => {
                    format!("at {x_mm} {y_mm} {width_mm:?} {text}")
                }
                Part::Block(Block::PageBreak) => "break".into(),
                Part::Block(b) => format!("{b:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                "image 30 Right",
                "logo 25 Center",
                "title 催款通知书",
                "p 尊敬的 张三：\n请于七日内缴款。",
                r#"table ["期次", "金额"] [["1", "100.00"], ["2", "200.00"]]"#,
                "Right 营销中心",
                "at 30 45 Some(60.0) 张三",
                "break",
                "p @colour red",
                "p @at 30 张三",
            ]
        );
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![17, 18]);
        assert!(errors[0].detail.contains("@colour"));
        assert!(parse("@image logo.png").1[0].detail.contains("picture"));
        // An e-mail reads the words, not the marks.
        assert_eq!(plain("@header x\n# 通知\n@right 营销中心\n@at 1,2 张三"), "# 通知\n营销中心\n张三");
    }
}

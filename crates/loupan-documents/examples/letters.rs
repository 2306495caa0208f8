//! Prints a batch of payment reminders (a title, paragraphs, a six-row
//! instalment table, a right-aligned sender, a page footer) into one PDF and
//! says how fast it went: `cargo run --release -p loupan-documents --example
//! letters -- 10000 /tmp/letters.pdf`. The layout engine's own measurement for
//! the decision log; peak memory with `/usr/bin/time -v`.

#![allow(clippy::expect_used)]

use std::time::Instant;

use loupan_documents::pdf::{Align, Block, Letter, PageStyle, Printer};

fn letter(i: usize) -> Letter {
    let rows = (1..=6)
        .map(|k| {
            vec![
                format!("第{k}期"),
                format!("2026-{:02}-15", k + 1),
                format!("{},{:03}.00", 100 + i % 50, k * 7),
                if k < 3 { "100,000.00".into() } else { "0.00".into() },
            ]
        })
        .collect();
    Letter {
        style: PageStyle { footer: Some("第 {page} 页 共 {pages} 页".into()), ..PageStyle::default() },
        blocks: vec![
            Block::Title("催款通知书".into()),
            Block::Paragraph(format!("尊敬的 客户{i:05} 先生/女士：")),
            Block::Paragraph(format!(
                "您购买的翠湖花园 3号楼 {}01 号房（合同编号 HT-2026-{i:05}），截至 2026年12月5日，已逾期应付款人民币 {}.00 元（大写：壹拾贰万叁仟肆佰伍拾陆元整），最早一期于 2026年9月15日 到期，已逾期 81 天。请您于收到本通知之日起七日内到售楼处财务室办理缴款；如已缴付，请忽略本通知。",
                i % 30 + 1,
                120_000 + i
            )),
            Block::Table {
                header: vec!["期次".into(), "到期日".into(), "应收（元）".into(), "已收（元）".into()],
                rows,
                size: 10.5,
            },
            Block::Paragraph("置业顾问：李四".into()),
            Block::Aligned(Align::Right, "翠湖花园 营销中心\n2026年12月5日".into()),
        ],
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let out = args.get(2).cloned().unwrap_or_else(|| "/tmp/letters.pdf".into());
    let started = Instant::now();
    let mut printer = Printer::new().expect("a CJK font");
    for i in 0..count {
        printer.add(&letter(i));
    }
    let pages = printer.pages();
    let pdf = printer.finish().expect("written");
    let took = started.elapsed();
    std::fs::write(&out, &pdf).expect("saved");
    println!(
        "{count} letters, {pages} pages, {} bytes in {took:?}: {:.2} ms a page, {:.0} letters/s",
        pdf.len(),
        took.as_secs_f64() * 1000.0 / pages as f64,
        count as f64 / took.as_secs_f64()
    );
}

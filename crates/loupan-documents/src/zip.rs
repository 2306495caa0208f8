//! Zip archives of files (letters, one PDF per customer), stored without
//! compression: PDFs are compressed already.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;

/// A zip holding `files` (name, bytes) in the order given.
pub fn write(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options).map_err(|e| e.to_string())?;
        zip.write_all(bytes).map_err(|e| e.to_string())?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

/// The files of a zip (name, bytes), in the archive's order.
pub fn read(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut files = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).map_err(|e| e.to_string())?;
        let mut content = Vec::new();
        file.read_to_end(&mut content).map_err(|e| e.to_string())?;
        let name = file.name().map_err(|e| e.to_string())?.into_owned();
        files.push((name, content));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    #[test]
    fn files_come_back_as_written() {
        let files =
            vec![("0001-李雷.pdf".to_owned(), b"%PDF-1".to_vec()), ("0002-韩梅梅.pdf".to_owned(), vec![0, 1, 2])];
        assert_eq!(super::read(&super::write(&files).unwrap()).unwrap(), files);
    }
}

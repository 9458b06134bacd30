//! Embeds every `sql/NNNN_name.sql` file, in order, so the binary carries its schema.

use std::fmt::Write as _;
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("sql");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("migrations/sql exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut out = String::from("pub static MIGRATIONS: &[Migration] = &[\n");
    for (i, path) in files.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("utf-8 file name");
        let (num, name) = stem.split_once('_').unwrap_or_else(|| panic!("{stem}: expected NNNN_name.sql"));
        let version: i32 = num.parse().unwrap_or_else(|_| panic!("{stem}: expected a numeric prefix"));
        assert_eq!(version as usize, i + 1, "{stem}: migrations must be numbered 1, 2, 3... without gaps");
        writeln!(
            out,
            "    Migration {{ version: {version}, name: {name:?}, sql: include_str!({:?}) }},",
            path.display().to_string()
        )
        .expect("write to string");
    }
    out.push_str("];\n");
    fs::write(Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("migrations.rs"), out)
        .expect("write generated file");
}

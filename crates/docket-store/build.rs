// `sqlx::migrate!` embeds the migration files at compile time; without this, a migration
// added to a directory does not rebuild the crate and an incremental build silently runs
// without it (sqlx's documented remedy).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

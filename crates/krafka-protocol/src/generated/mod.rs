//! Generated code lives here (see `cargo xtask codegen`).
impl crate::ApiKey {
    /// Placeholder until codegen runs.
    pub fn name(&self) -> Option<&'static str> {
        None
    }
}

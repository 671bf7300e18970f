//! Every route of the sandbox, put together: each bank's API, the sandbox-only controls, and
//! the fallback for unknown paths.

use crate::handle::Sandbox;
use crate::{controls, raiffeisen, rbs, sber, tbank};

impl Sandbox {
    /// All routes, rooted at `/` (paths start with `/api/...` and `/sandbox/...`). The caller
    /// may nest it under a prefix (e.g. `Router::nest("/sandbox-bank", ...)`).
    pub fn router(&self) -> axum::Router {
        raiffeisen::router(self)
            .merge(tbank::router(self))
            .merge(rbs::router(self))
            .merge(sber::router(self))
            .merge(controls::router())
            .fallback(raiffeisen::unknown_path)
            .with_state(self.clone())
    }
}

//! Password hashing off the async runtime: Argon2id runs on tokio's blocking threads, at most
//! half the cores at a time, so a flood of sign-ins queues here while sockets, answers and
//! `/health` keep their threads.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::passwords::{self, Hashing};

/// [`Hashing`] on blocking threads behind a small bound.
pub struct BlockingHashing {
    permits: Arc<Semaphore>,
}

impl BlockingHashing {
    /// At most half the machine's cores (at least one) hash at once.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        BlockingHashing {
            permits: Arc::new(Semaphore::new(cores.div_ceil(2))),
        }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _permit = self.permits.acquire().await.ok()?;
        tokio::task::spawn_blocking(f).await.ok()
    }
}

impl Default for BlockingHashing {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl Hashing for BlockingHashing {
    async fn hash(&self, password: String) -> Result<String, String> {
        self.run(move || passwords::hash(&password))
            .await
            .unwrap_or_else(|| Err("the hashing thread stopped".into()))
    }

    async fn verify(&self, password: String, hash: String) -> bool {
        self.run(move || passwords::verify(&password, &hash))
            .await
            .unwrap_or(false)
    }
}

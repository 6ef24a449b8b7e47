//! Projects in D1 (cross-project data), with the registry's SQL, read through a KV cache (the
//! widget loads a project's settings on every page view; KV answers at the edge).

use async_trait::async_trait;
use std::cell::Cell;

use worker::send::{SendFuture, SendWrapper};
use worker::{D1Database, kv::KvStore};

use super::sql::{d1_params, d1_rows};
use crate::http::ProjectDirectory;
use crate::registry::{self, Project};

/// The project directory over the `DB` D1 binding, cached in the `CONFIG_CACHE` KV namespace.
pub struct D1Projects {
    /// The database.
    pub db: SendWrapper<D1Database>,
    /// The cache (`None`: every read goes to D1).
    pub cache: Option<SendWrapper<KvStore>>,
}

impl D1Projects {
    /// The directory of the `DB` binding, cached in `CONFIG_CACHE` when bound.
    ///
    /// # Errors
    /// When the `DB` binding is missing.
    pub fn from_env(env: &worker::Env) -> worker::Result<D1Projects> {
        Ok(D1Projects {
            db: SendWrapper(env.d1("DB")?),
            cache: env.kv("CONFIG_CACHE").ok().map(SendWrapper),
        })
    }
}

/// How long a cached project may be stale; writes through this isolate invalidate at once.
const CACHE_TTL_MS: f64 = 60_000.0;

thread_local! {
    static SCHEMA_APPLIED: Cell<bool> = const { Cell::new(false) };
    /// Projects read lately, in this isolate's memory. Not in KV: a project carries its signing
    /// secret, and secrets are kept in D1 only (see docs/security.md).
    static PROJECTS: std::cell::RefCell<std::collections::HashMap<String, (Project, f64)>> =
        std::cell::RefCell::default();
    /// The deployment's salts, read once.
    static SALTS: std::cell::RefCell<std::collections::HashMap<String, String>> =
        std::cell::RefCell::default();
}

fn cached(id: &str) -> Option<Project> {
    let now = js_sys::Date::now();
    PROJECTS.with(|c| {
        c.borrow()
            .get(id)
            .filter(|(_, until)| *until > now)
            .map(|(p, _)| p.clone())
    })
}

fn remember(project: &Project) {
    let until = js_sys::Date::now() + CACHE_TTL_MS;
    PROJECTS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 10_000 {
            c.clear();
        }
        c.insert(project.id.clone(), (project.clone(), until));
    });
}

/// Applies the registry's schema once per isolate (idempotent statements).
async fn ensure_schema(db: &D1Database) -> Result<(), String> {
    if SCHEMA_APPLIED.with(Cell::get) {
        return Ok(());
    }
    for stmt in registry::SCHEMA
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        db.prepare(stmt).run().await.map_err(|e| e.to_string())?;
    }
    SCHEMA_APPLIED.with(|a| a.set(true));
    Ok(())
}

fn cache_key(id: &str) -> String {
    format!("project:{id}")
}

async fn run(
    db: &D1Database,
    sql: &str,
    params: &[crate::platform::sql::SqlValue],
) -> Result<Vec<crate::platform::sql::Row>, String> {
    let stmt = db
        .prepare(sql)
        .bind(&d1_params(params))
        .map_err(|e| e.to_string())?;
    let rows = stmt.raw_js_value().await.map_err(|e| e.to_string())?;
    let rows = rows
        .into_iter()
        .map(|r| js_sys::Array::from(&r).iter().collect())
        .collect();
    d1_rows(rows).map_err(|e| e.to_string())
}

#[async_trait]
impl ProjectDirectory for D1Projects {
    async fn get(&self, id: &str) -> Result<Option<Project>, String> {
        SendFuture::new(async {
            if let Some(p) = cached(id) {
                return Ok(Some(p));
            }
            ensure_schema(&self.db).await?;
            let rows = run(&self.db, registry::GET_SQL, &[id.into()]).await?;
            let project = rows
                .first()
                .map(registry::project_from_row)
                .transpose()
                .map_err(|e| e.to_string())?;
            if let Some(p) = &project {
                remember(p);
            }
            Ok(project)
        })
        .await
    }

    async fn put(&self, project: &Project) -> Result<(), String> {
        SendFuture::new(async {
            ensure_schema(&self.db).await?;
            let params = registry::put_params(project).map_err(|e| e.to_string())?;
            run(&self.db, registry::PUT_SQL, &params).await?;
            let settings = registry::settings_params(project).map_err(|e| e.to_string())?;
            run(&self.db, registry::SETTINGS_PUT_SQL, &settings).await?;
            PROJECTS.with(|c| c.borrow_mut().remove(&project.id));
            // Earlier versions cached projects, secrets included, in KV: none is left there.
            if let Some(kv) = &self.cache {
                let _ = kv.delete(&cache_key(&project.id)).await;
            }
            Ok(())
        })
        .await
    }

    async fn set_channel(&self, project: &str, kind: &str, on: bool) -> Result<(), String> {
        SendFuture::new(async {
            ensure_schema(&self.db).await?;
            let sql = if on {
                registry::CHANNEL_ON_SQL
            } else {
                registry::CHANNEL_OFF_SQL
            };
            run(&self.db, sql, &[project.into(), kind.into()]).await?;
            // Whether the project has someone to hand off to is read with it.
            PROJECTS.with(|c| c.borrow_mut().remove(project));
            Ok(())
        })
        .await
    }

    async fn with_channel(&self, kind: &str) -> Result<Vec<String>, String> {
        SendFuture::new(async {
            ensure_schema(&self.db).await?;
            let rows = run(&self.db, registry::WITH_CHANNEL_SQL, &[kind.into()]).await?;
            rows.iter()
                .map(|r| crate::platform::sql::col_string(r, 0).map_err(|e| e.to_string()))
                .collect()
        })
        .await
    }

    async fn operator(&self, name: &str) -> Result<Option<registry::Operator>, String> {
        SendFuture::new(async {
            ensure_schema(&self.db).await?;
            let rows = run(&self.db, registry::OPERATOR_GET_SQL, &[name.into()]).await?;
            rows.first()
                .map(registry::operator_from_row)
                .transpose()
                .map_err(|e| e.to_string())
        })
        .await
    }

    async fn salt(&self, key: &str) -> Result<String, String> {
        if let Some(s) = SALTS.with(|c| c.borrow().get(key).cloned()) {
            return Ok(s);
        }
        let salt = SendFuture::new(async {
            ensure_schema(&self.db).await?;
            run(
                &self.db,
                registry::META_INIT_SQL,
                &[key.into(), registry::new_salt().into()],
            )
            .await?;
            let rows = run(&self.db, registry::META_GET_SQL, &[key.into()]).await?;
            rows.first()
                .map(|r| crate::platform::sql::col_string(r, 0))
                .transpose()
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "the salt was not stored".to_owned())
        })
        .await?;
        // A salt never changes once made: read once per isolate.
        SALTS.with(|c| c.borrow_mut().insert(key.to_owned(), salt.clone()));
        Ok(salt)
    }

    async fn add_session(&self, project: &str, subject: &str, cap: u32) -> Result<bool, String> {
        SendFuture::new(async {
            ensure_schema(&self.db).await?;
            let params = [project.into(), subject.into()];
            let rows = run(&self.db, registry::VISITOR_SESSIONS_SQL, &params).await?;
            let opened = rows
                .first()
                .and_then(|r| r.first())
                .and_then(crate::platform::sql::SqlValue::as_i64)
                .unwrap_or(0);
            if opened >= i64::from(cap) {
                return Ok(false);
            }
            run(&self.db, registry::VISITOR_SESSION_ADD_SQL, &params).await?;
            Ok(true)
        })
        .await
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, String> {
        SendFuture::new(async {
            ensure_schema(&self.db).await?;
            let rows = run(&self.db, registry::META_GET_SQL, &[key.into()]).await?;
            rows.first()
                .map(|r| crate::platform::sql::col_string(r, 0))
                .transpose()
                .map_err(|e| e.to_string())
        })
        .await
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), String> {
        SendFuture::new(async {
            ensure_schema(&self.db).await?;
            run(
                &self.db,
                registry::META_SET_SQL,
                &[key.into(), value.into()],
            )
            .await?;
            Ok(())
        })
        .await
    }

    async fn put_operator(
        &self,
        name: &str,
        operator: Option<&registry::Operator>,
    ) -> Result<(), String> {
        SendFuture::new(async {
            ensure_schema(&self.db).await?;
            match operator {
                Some(o) => {
                    run(
                        &self.db,
                        registry::OPERATOR_PUT_SQL,
                        &registry::operator_params(o),
                    )
                    .await?
                }
                None => run(&self.db, registry::OPERATOR_DELETE_SQL, &[name.into()]).await?,
            };
            // Whether a project has someone to hand off to is read with it; operators change
            // rarely, so the whole cache goes.
            PROJECTS.with(|c| c.borrow_mut().clear());
            Ok(())
        })
        .await
    }
}

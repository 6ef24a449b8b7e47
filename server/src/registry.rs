//! Projects: who may embed the assistant where, and how its widget looks. Cross-project data
//! (a SQLite file natively, D1 on Workers), the same SQL on both.

use serde::{Deserialize, Serialize};

use crate::platform::sql::{Sql, SqlError, SqlValue, col_string};

/// The schema, applied at open (idempotent).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS projects (
    id              TEXT PRIMARY KEY,
    secret          TEXT NOT NULL,
    allowed_origins TEXT NOT NULL,
    title           TEXT NOT NULL,
    greeting        TEXT NOT NULL,
    accent          TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS project_settings (
    project  TEXT PRIMARY KEY,
    settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS project_channels (
    project TEXT NOT NULL,
    kind    TEXT NOT NULL,
    PRIMARY KEY (project, kind)
);
CREATE TABLE IF NOT EXISTS operators (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    projects      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS visitor_sessions (
    project TEXT NOT NULL,
    subject TEXT NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (project, subject)
);
";

/// How many sessions visitor `?2` of project `?1` has opened.
pub const VISITOR_SESSIONS_SQL: &str =
    "SELECT count FROM visitor_sessions WHERE project = ?1 AND subject = ?2";
/// Counts one more session of visitor `?2` of project `?1`.
pub const VISITOR_SESSION_ADD_SQL: &str = "INSERT INTO visitor_sessions (project, subject, count)
     VALUES (?1, ?2, 1) ON CONFLICT(project, subject) DO UPDATE SET count = count + 1";

/// The deployment's own value under `?1`.
pub const META_GET_SQL: &str = "SELECT value FROM meta WHERE key = ?1";
/// Stores `?2` under `?1` unless a value is there: the first writer wins.
pub const META_INIT_SQL: &str =
    "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING";
/// Stores `?2` under `?1`, replacing what was there.
pub const META_SET_SQL: &str = "INSERT INTO meta (key, value) VALUES (?1, ?2)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value";
/// The key of the random salt the console's cookie key is derived with.
pub const CONSOLE_SALT: &str = "console_salt";
/// The key of the random salt session ids are signed with ([`crate::session::ids`]).
pub const SESSION_SALT: &str = "session_salt";

/// 32 random bytes in hex: a new salt.
pub fn new_salt() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// An operator by name (`?1`).
pub const OPERATOR_GET_SQL: &str =
    "SELECT name, password_hash, projects FROM operators WHERE name = ?1";
/// Creates or replaces an operator (`?1` name, `?2` password hash, `?3` projects as JSON).
pub const OPERATOR_PUT_SQL: &str = "INSERT INTO operators (name, password_hash, projects)
     VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET password_hash = excluded.password_hash,
     projects = excluded.projects";
/// Removes an operator (`?1` name).
pub const OPERATOR_DELETE_SQL: &str = "DELETE FROM operators WHERE name = ?1";

/// A person who answers a project's inbox in the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    /// The login name.
    pub name: String,
    /// The password's Argon2id hash (PHC string).
    pub password_hash: String,
    /// The projects whose inbox they see.
    pub projects: Vec<String>,
}

/// Reads an operator row (`OPERATOR_GET_SQL`'s columns).
///
/// # Errors
/// [`SqlError::Shape`] when the row is not one.
pub fn operator_from_row(r: &crate::platform::sql::Row) -> Result<Operator, SqlError> {
    Ok(Operator {
        name: col_string(r, 0)?,
        password_hash: col_string(r, 1)?,
        projects: serde_json::from_str(&col_string(r, 2)?)
            .map_err(|e| SqlError::Shape(e.to_string()))?,
    })
}

/// `OPERATOR_PUT_SQL`'s parameters.
pub fn operator_params(o: &Operator) -> Vec<SqlValue> {
    vec![
        o.name.as_str().into(),
        o.password_hash.as_str().into(),
        serde_json::Value::from(o.projects.clone())
            .to_string()
            .into(),
    ]
}

/// Records that a project uses a channel (`?1` project, `?2` kind).
pub const CHANNEL_ON_SQL: &str =
    "INSERT OR IGNORE INTO project_channels (project, kind) VALUES (?1, ?2)";
/// Records that a project no longer uses a channel.
pub const CHANNEL_OFF_SQL: &str = "DELETE FROM project_channels WHERE project = ?1 AND kind = ?2";
/// The projects using a channel (`?1` kind).
pub const WITH_CHANNEL_SQL: &str =
    "SELECT project FROM project_channels WHERE kind = ?1 ORDER BY project";

/// A project's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// The project id.
    pub id: String,
    /// The HS256 secret the site signs its visitors' tokens with.
    pub secret: String,
    /// Origins allowed to embed the widget and call the API (`https://example.com`); `*` allows
    /// any.
    pub allowed_origins: Vec<String>,
    /// The widget's title.
    pub title: String,
    /// The widget's greeting.
    pub greeting: String,
    /// The widget's accent color.
    pub accent: String,
    /// Everything else a project may set (stored as JSON: a new setting needs no migration).
    pub settings: ProjectSettings,
    /// Whether someone can take a conversation over: an operator who answers the project's
    /// inbox, or a channel it uses. Read with the project, never written.
    pub team: bool,
}

/// A project's settings beyond its look; each has a default, so a stored project with fewer
/// settings reads as one with the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectSettings {
    /// Whether visitors may ask to talk to a person (offered only while someone can take over:
    /// [`Project::handoff_open`]).
    pub handoff: bool,
    /// The longest an identity token may live (`exp` − now), in seconds.
    pub token_max_lifetime_secs: u64,
    /// Up to [`MAX_STARTERS`] questions the empty panel offers as buttons.
    pub starters: Vec<String>,
    /// The project's own greeting and placeholder per language (`de`, `ja`, …; one of
    /// `outpost_app::strings::LOCALES`).
    pub locales: std::collections::BTreeMap<String, LocaleText>,
    /// Whether pages of the allowed origins may embed the widget without a token their site
    /// signed: the server then mints anonymous visitor tokens for them
    /// ([`crate::http::widget::visitor_token`]).
    pub public: bool,
    /// The project's own rate limits and daily budget.
    pub limits: crate::limits::ProjectLimits,
    /// Cloudflare Turnstile: when set, an anonymous visitor's first token needs a solved
    /// challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnstile: Option<Turnstile>,
}

/// A Turnstile widget's keys (Cloudflare dashboard → Turnstile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turnstile {
    /// The site key, public: the widget renders the challenge with it.
    pub site_key: String,
    /// The secret key, for `siteverify`.
    pub secret: String,
}

/// A project's own words for one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocaleText {
    /// The greeting in this language (else the project's greeting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// The composer's placeholder in this language (else the language's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
}

/// The most starter questions a project may set.
pub const MAX_STARTERS: usize = 4;

/// The longest a starter question may be, in characters (it is a button).
pub const MAX_STARTER_CHARS: usize = 120;

impl Default for ProjectSettings {
    fn default() -> Self {
        ProjectSettings {
            handoff: true,
            token_max_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            starters: Vec::new(),
            locales: Default::default(),
            public: false,
            limits: Default::default(),
            turnstile: None,
        }
    }
}

/// The longest a token may still be valid for when it is used (`exp` − now), unless the project
/// sets another ([`ProjectSettings::token_max_lifetime_secs`]): 24 hours. A leaked token of a
/// year would let its holder act as the visitor for a year; sites mint short-lived tokens on
/// each page load.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 24 * 60 * 60;

/// The longest token lifetime a project may allow: 30 days.
pub const TOKEN_LIFETIME_CAP_SECS: u64 = 30 * 24 * 60 * 60;

impl Project {
    /// A project with the default look and settings.
    pub fn new(id: impl Into<String>, secret: impl Into<String>, origins: Vec<String>) -> Self {
        Project {
            id: id.into(),
            secret: secret.into(),
            allowed_origins: origins,
            title: DEFAULT_TITLE.into(),
            greeting: DEFAULT_GREETING.into(),
            accent: DEFAULT_ACCENT.into(),
            settings: ProjectSettings::default(),
            team: false,
        }
    }

    /// What in this project cannot work, in a sentence that says how to fix it: no origin
    /// (no site could embed it), `*` (any site could frame it and post into it), a malformed
    /// origin, a colour a browser would ignore, a short secret, an empty title, a token lifetime
    /// beyond [`TOKEN_LIFETIME_CAP_SECS`].
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), String> {
        if self.allowed_origins.is_empty() {
            return Err(format!(
                "project {} has no origin, so no site can embed it: add --origin https://your.site \
                 (for the admin API: allowed_origins)",
                self.id
            ));
        }
        for o in &self.allowed_origins {
            if o == "*" {
                return Err(
                    "\"*\" would let any site frame the widget and post into it; list each \
                     origin that embeds it (https://docs.example.com)"
                        .into(),
                );
            }
            if !is_origin(o) {
                return Err(format!(
                    "{o:?} is not an origin; use scheme://host[:port], e.g. https://example.com"
                ));
            }
        }
        if !is_colour(&self.accent) {
            return Err(format!(
                "{:?} is not a colour; use a hex colour like #3b5bdb (or rgb()/hsl())",
                self.accent
            ));
        }
        if self.secret.chars().count() < 32 {
            return Err("the secret must be at least 32 characters".into());
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 80 {
            return Err("the title must be 1 to 80 characters".into());
        }
        if self.greeting.chars().count() > 1000 {
            return Err("the greeting must be at most 1,000 characters".into());
        }
        let secs = self.settings.token_max_lifetime_secs;
        if !(60..=TOKEN_LIFETIME_CAP_SECS).contains(&secs) {
            return Err(format!(
                "the token lifetime must be between 60 seconds and {} days",
                TOKEN_LIFETIME_CAP_SECS / 86_400
            ));
        }
        let starters = &self.settings.starters;
        if starters.len() > MAX_STARTERS {
            return Err(format!(
                "at most {MAX_STARTERS} starter questions ({} given)",
                starters.len()
            ));
        }
        if let Some(s) = starters
            .iter()
            .find(|s| s.trim().is_empty() || s.chars().count() > MAX_STARTER_CHARS)
        {
            return Err(format!(
                "{s:?}: a starter question must be 1 to {MAX_STARTER_CHARS} characters"
            ));
        }
        self.settings.limits.validate()?;
        if let Some(t) = &self.settings.turnstile {
            let fine = |k: &str| {
                !k.is_empty()
                    && k.len() <= 200
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            if !fine(&t.site_key) || !fine(&t.secret) {
                return Err("turnstile needs the site_key and secret that Cloudflare's \
                     dashboard shows (letters, digits, - and _)"
                    .into());
            }
        }
        for (locale, text) in &self.settings.locales {
            if !outpost_app::strings::LOCALES.contains(&locale.as_str()) {
                return Err(format!(
                    "{locale:?} is not a language the widget speaks; use one of {}",
                    outpost_app::strings::LOCALES.join(", ")
                ));
            }
            if text
                .greeting
                .as_ref()
                .is_some_and(|g| g.chars().count() > 1000)
            {
                return Err(format!(
                    "the {locale} greeting must be at most 1,000 characters"
                ));
            }
            if text
                .placeholder
                .as_ref()
                .is_some_and(|p| p.trim().is_empty() || p.chars().count() > 100)
            {
                return Err(format!(
                    "the {locale} placeholder must be 1 to 100 characters"
                ));
            }
        }
        Ok(())
    }

    /// `visitor` of this project, calling from `addr`, as the limits count them.
    pub fn caller(&self, visitor: &str, addr: Option<&str>) -> crate::limits::Caller {
        crate::limits::Caller {
            project: self.id.clone(),
            public: self.settings.public,
            limits: self.settings.limits,
            visitor: visitor.to_owned(),
            addr: addr.map(str::to_owned),
        }
    }

    /// Whether a visitor may ask for a person now: the project allows it and someone can
    /// take over.
    pub fn handoff_open(&self) -> bool {
        self.settings.handoff && self.team
    }

    /// Whether `origin` may embed the widget / call the API.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == "*" || o == origin)
    }

    /// The CSP `frame-ancestors` source list for the widget page.
    pub fn frame_ancestors(&self) -> String {
        if self.allowed_origins.iter().any(|o| o == "*") {
            return "*".into();
        }
        let mut list = vec!["'self'".to_owned()];
        list.extend(
            self.allowed_origins
                .iter()
                .filter(|o| is_origin(o))
                .cloned(),
        );
        list.join(" ")
    }
}

/// Whether `s` is a CSS colour the widget can use: `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, or
/// `rgb()`/`rgba()`/`hsl()`/`hsla()` of numbers (nothing that could leave a CSS value).
pub fn is_colour(s: &str) -> bool {
    if let Some(hex) = s.strip_prefix('#') {
        return matches!(hex.len(), 3 | 4 | 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    ["rgb(", "rgba(", "hsl(", "hsla("].iter().any(|f| {
        s.strip_prefix(f)
            .and_then(|rest| rest.strip_suffix(')'))
            .is_some_and(|args| {
                args.chars().any(|c| c.is_ascii_digit())
                    && args.chars().all(|c| {
                        c.is_ascii_digit()
                            || matches!(c, '.' | ',' | ' ' | '%' | '/' | 'd' | 'e' | 'g')
                    })
            })
    })
}

/// Whether `s` looks like a serialized origin (`scheme://host[:port]`, nothing else), so it is
/// safe to put in a header.
pub fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// A new project's widget title.
pub const DEFAULT_TITLE: &str = "Ask our docs";
/// A new project's greeting.
pub const DEFAULT_GREETING: &str = "Hi! Ask me anything about our documentation.";
/// A new project's accent colour.
pub const DEFAULT_ACCENT: &str = "#3b5bdb";

/// Reads one project (`?1`: its id), with its settings and whether it has a team (an operator
/// who answers its inbox, or a channel).
pub const GET_SQL: &str = "SELECT p.id, p.secret, p.allowed_origins, p.title, p.greeting, p.accent,
       s.settings,
       EXISTS (SELECT 1 FROM operators o, json_each(o.projects) j WHERE j.value = p.id)
         OR EXISTS (SELECT 1 FROM project_channels c WHERE c.project = p.id)
     FROM projects p LEFT JOIN project_settings s ON s.project = p.id
     WHERE p.id = ?1";

/// Stores a project's settings (`?1` project, `?2` settings as JSON).
pub const SETTINGS_PUT_SQL: &str =
    "INSERT INTO project_settings (project, settings) VALUES (?1, ?2)
     ON CONFLICT(project) DO UPDATE SET settings = excluded.settings";

/// Creates or replaces a project (parameters from [`put_params`]).
pub const PUT_SQL: &str =
    "INSERT INTO projects (id, secret, allowed_origins, title, greeting, accent)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT(id) DO UPDATE SET secret = excluded.secret,
       allowed_origins = excluded.allowed_origins, title = excluded.title,
       greeting = excluded.greeting, accent = excluded.accent";

/// A row of [`GET_SQL`] as a project.
///
/// # Errors
/// [`SqlError::Shape`] when the row does not have the expected columns.
pub fn project_from_row(r: &crate::platform::sql::Row) -> Result<Project, SqlError> {
    Ok(Project {
        id: col_string(r, 0)?,
        secret: col_string(r, 1)?,
        allowed_origins: serde_json::from_str(&col_string(r, 2)?)
            .map_err(|e| SqlError::Shape(e.to_string()))?,
        title: col_string(r, 3)?,
        greeting: col_string(r, 4)?,
        accent: col_string(r, 5)?,
        settings: match r.get(6) {
            Some(SqlValue::Text(json)) => {
                serde_json::from_str(json).map_err(|e| SqlError::Shape(e.to_string()))?
            }
            _ => ProjectSettings::default(),
        },
        team: r
            .get(7)
            .and_then(SqlValue::as_f64)
            .is_some_and(|n| n != 0.0),
    })
}

/// The parameters of [`SETTINGS_PUT_SQL`].
///
/// # Errors
/// [`SqlError::Shape`] when the settings cannot be encoded.
pub fn settings_params(p: &Project) -> Result<Vec<SqlValue>, SqlError> {
    let settings =
        serde_json::to_string(&p.settings).map_err(|e| SqlError::Shape(e.to_string()))?;
    Ok(vec![p.id.as_str().into(), SqlValue::Text(settings)])
}

/// The parameters of [`PUT_SQL`].
///
/// # Errors
/// [`SqlError::Shape`] when the origins cannot be encoded.
pub fn put_params(p: &Project) -> Result<Vec<SqlValue>, SqlError> {
    let origins =
        serde_json::to_string(&p.allowed_origins).map_err(|e| SqlError::Shape(e.to_string()))?;
    Ok(vec![
        p.id.as_str().into(),
        p.secret.as_str().into(),
        SqlValue::Text(origins),
        p.title.as_str().into(),
        p.greeting.as_str().into(),
        p.accent.as_str().into(),
    ])
}

/// Projects over a SQL handle.
pub struct Registry<S> {
    sql: S,
}

/// What else [`Registry::delete`] removes of a project (`?1`), besides its row.
const DELETE_PROJECT_SQL: [&str; 4] = [
    "DELETE FROM project_settings WHERE project = ?1",
    "DELETE FROM project_channels WHERE project = ?1",
    "DELETE FROM visitor_sessions WHERE project = ?1",
    "UPDATE operators SET projects = (SELECT json_group_array(value) FROM json_each(operators.projects) WHERE value != ?1)
     WHERE EXISTS (SELECT 1 FROM json_each(operators.projects) WHERE value = ?1)",
];

impl<S: Sql> Registry<S> {
    /// Opens the registry, creating its table when new.
    ///
    /// # Errors
    /// [`SqlError`] when the schema cannot be applied.
    pub fn open(sql: S) -> Result<Self, SqlError> {
        sql.execute_batch(SCHEMA)?;
        Ok(Registry { sql })
    }

    /// The project `id`, if it exists.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn get(&self, id: &str) -> Result<Option<Project>, SqlError> {
        let rows = self.sql.query(GET_SQL, &[id.into()])?;
        rows.first().map(project_from_row).transpose()
    }

    /// Creates or replaces a project.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn put(&self, p: &Project) -> Result<(), SqlError> {
        self.sql.execute(PUT_SQL, &put_params(p)?)?;
        self.sql.execute(SETTINGS_PUT_SQL, &settings_params(p)?)?;
        Ok(())
    }

    /// Deletes project `id` from the registry: its row, settings, channel marks and visitor
    /// counts, and its name from every operator's projects. Returns whether it was registered.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure; nothing is changed then.
    pub fn delete(&self, id: &str) -> Result<bool, SqlError> {
        let mut existed = false;
        self.sql.transaction(&mut |tx| {
            existed = tx.execute("DELETE FROM projects WHERE id = ?1", &[id.into()])? > 0;
            for sql in DELETE_PROJECT_SQL {
                tx.execute(sql, &[id.into()])?;
            }
            Ok(())
        })?;
        Ok(existed)
    }

    /// Records whether project `id` uses channel `kind`.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn set_channel(&self, id: &str, kind: &str, on: bool) -> Result<(), SqlError> {
        let sql = if on { CHANNEL_ON_SQL } else { CHANNEL_OFF_SQL };
        self.sql.execute(sql, &[id.into(), kind.into()])?;
        Ok(())
    }

    /// The projects that use channel `kind`.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn with_channel(&self, kind: &str) -> Result<Vec<String>, SqlError> {
        let rows = self.sql.query(WITH_CHANNEL_SQL, &[kind.into()])?;
        rows.iter().map(|r| col_string(r, 0)).collect()
    }

    /// The operator `name`, if any.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn operator(&self, name: &str) -> Result<Option<Operator>, SqlError> {
        let rows = self.sql.query(OPERATOR_GET_SQL, &[name.into()])?;
        rows.first().map(operator_from_row).transpose()
    }

    /// Creates or replaces an operator.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn put_operator(&self, o: &Operator) -> Result<(), SqlError> {
        self.sql.execute(OPERATOR_PUT_SQL, &operator_params(o))?;
        Ok(())
    }

    /// Removes an operator.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn delete_operator(&self, name: &str) -> Result<(), SqlError> {
        self.sql.execute(OPERATOR_DELETE_SQL, &[name.into()])?;
        Ok(())
    }

    /// Counts a new session of visitor `subject` of `project`; `false` (nothing counted) when
    /// they have opened `cap` already.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn add_session(&self, project: &str, subject: &str, cap: u32) -> Result<bool, SqlError> {
        let rows = self
            .sql
            .query(VISITOR_SESSIONS_SQL, &[project.into(), subject.into()])?;
        let opened = rows
            .first()
            .and_then(|r| r.first())
            .and_then(SqlValue::as_i64)
            .unwrap_or(0);
        if opened >= i64::from(cap) {
            return Ok(false);
        }
        self.sql
            .execute(VISITOR_SESSION_ADD_SQL, &[project.into(), subject.into()])?;
        Ok(true)
    }

    /// The deployment's own value under `key`.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn meta(&self, key: &str) -> Result<Option<String>, SqlError> {
        let rows = self.sql.query(META_GET_SQL, &[key.into()])?;
        rows.first().map(|r| col_string(r, 0)).transpose()
    }

    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), SqlError> {
        self.sql
            .execute(META_SET_SQL, &[key.into(), value.into()])?;
        Ok(())
    }

    /// The random salt under `key` ([`CONSOLE_SALT`], [`SESSION_SALT`]), made the first time
    /// it is asked for.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn salt(&self, key: &str) -> Result<String, SqlError> {
        if let Some(salt) = self.meta(key)? {
            return Ok(salt);
        }
        self.sql
            .execute(META_INIT_SQL, &[key.into(), new_salt().into()])?;
        let rows = self.sql.query(META_GET_SQL, &[key.into()])?;
        rows.first()
            .map(|r| col_string(r, 0))
            .transpose()?
            .ok_or_else(|| SqlError::Shape("the salt was not stored".into()))
    }

    /// Every project id.
    ///
    /// # Errors
    /// [`SqlError`] on a database failure.
    pub fn ids(&self) -> Result<Vec<String>, SqlError> {
        let rows = self.sql.query("SELECT id FROM projects ORDER BY id", &[])?;
        rows.iter().map(|r| col_string(r, 0)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_exactly() {
        let p = Project::new(
            "a",
            "s",
            vec!["https://acme.com".into(), "bad value\r\nx".into()],
        );
        assert!(p.allows_origin("https://acme.com"));
        assert!(!p.allows_origin("https://acme.com.evil.io"));
        assert_eq!(
            p.frame_ancestors(),
            "'self' https://acme.com",
            "junk never reaches a header"
        );
        assert!(is_origin("http://127.0.0.1:8081"));
        assert!(!is_origin("https://a.com/path"));
    }
}

//! Who is looking: session cookies, roles, CSRF tokens, passwords, and the first-run setup,
//! login and logout pages.
//!
//! A session cookie is HttpOnly, SameSite=Lax and Secure when the request came over TLS (as a
//! proxy says with `X-Forwarded-Proto: https`, or always with `serve --secure-cookies`). Every form
//! carries a CSRF token: the session's own, or — before login — a random token that must match
//! a cookie (double submit).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;
use spendlens_domain::password;
use spendlens_store::{AccessKind, Role, SessionRow, UserRow};
use time::OffsetDateTime;

use crate::AppState;
use crate::client::ClientAddr;
use crate::dashboard::error::PageError;
use crate::dashboard::render;
use crate::dashboard::throttle::Verdict;

pub const SESSION_COOKIE: &str = "spendlens_session";
pub const LOGIN_CSRF_COOKIE: &str = "spendlens_login_csrf";
pub const FLASH_COOKIE: &str = "spendlens_flash";
/// The shortest password accepted, in characters.
pub const MIN_PASSWORD: usize = password::MIN_PASSWORD_CHARS;

pub use crate::passwords::{hash_password, verify_password};

/// Checks a new password (the policy is `spendlens_domain::password`) and its confirmation for
/// the account `email`; says what is wrong.
pub fn check_new_password(password: &str, confirm: &str, email: &str) -> Result<(), String> {
    password::check_new_password_confirmed(password, confirm, email).map_err(|e| e.to_string())
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn secure(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// With `serve --secure-cookies`, marks every cookie a response sets `Secure`, whatever the
/// request's headers said.
pub async fn secure_cookies(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    if state.settings.secure_cookies {
        let cookies: Vec<HeaderValue> = match response.headers_mut().entry(header::SET_COOKIE) {
            header::Entry::Occupied(entry) => entry.remove_entry_mult().1.collect(),
            header::Entry::Vacant(_) => Vec::new(),
        };
        for cookie in cookies {
            let marked = match cookie.to_str() {
                Ok(text) if !text.ends_with("; Secure") => {
                    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(cookie)
                }
                _ => cookie,
            };
            response.headers_mut().append(header::SET_COOKIE, marked);
        }
    }
    response
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if secure(headers) { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A one-time message for the next page, carried in a short-lived cookie.
pub fn flash(headers: &HeaderMap, kind: &str, message: &str) -> HeaderValue {
    let encoded: String =
        url::form_urlencoded::byte_serialize(format!("{kind}:{message}").as_bytes()).collect();
    set_cookie(headers, FLASH_COOKIE, &encoded, 60)
}

/// The message left by the previous request, if any: (kind, text).
pub fn take_flash(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = cookie(headers, FLASH_COOKIE)?;
    let decoded: String = url::form_urlencoded::parse(format!("f={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    let (kind, text) = decoded.split_once(':')?;
    let kind = match kind {
        "ok" | "error" | "warn" => kind,
        _ => "info",
    };
    Some((kind.to_owned(), text.chars().take(2000).collect()))
}

/// A redirect (303) that also sets cookies. Only local paths are followed: anything else goes
/// to `/` (so no caller can be turned into an open redirect, and no odd character becomes an
/// invalid header).
pub fn redirect_with(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let to = local_path_or(Some(to), "/");
    let location = HeaderValue::from_str(&to).unwrap_or_else(|_| HeaderValue::from_static("/"));
    let mut response = (
        axum::http::StatusCode::SEE_OTHER,
        [(header::LOCATION, location)],
    )
        .into_response();
    for value in cookies {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A signed-in user. Pages that take it redirect to the login page when nobody is signed in.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub session: SessionRow,
}

impl Viewer {
    pub fn user(&self) -> &UserRow {
        &self.session.user
    }

    pub fn is_admin(&self) -> bool {
        self.session.user.role == Role::Admin
    }

    /// A tenant user: bound to one customer, kept inside that customer's portal.
    pub fn is_tenant(&self) -> bool {
        self.session.user.role == Role::Tenant
    }

    /// The customer a tenant user is bound to (`None` for admins and viewers).
    pub fn customer(&self) -> Option<&str> {
        match self.session.user.role {
            Role::Tenant => self.session.user.customer.as_deref(),
            Role::Admin | Role::Viewer => None,
        }
    }

    pub fn org(&self) -> spendlens_store::OrgId {
        self.session.user.org_id
    }

    /// The user as audit logs name them.
    pub fn actor(&self) -> String {
        self.session.user.email.clone()
    }

    /// Checks a form's CSRF token against the session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), PageError> {
        if same_secret(token, &self.session.csrf_token) {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "the form's security token is missing or out of date; reload the page and try again"
                    .to_owned(),
            ))
        }
    }

    /// Admins only: a viewer gets 403.
    pub fn require_admin(&self) -> Result<(), PageError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "viewers can read and export, but not change anything; ask an admin".to_owned(),
            ))
        }
    }
}

/// The session a request's cookie names, looked up once per request by the tenant guard
/// ([`crate::tenant_guard`]) and reused by the extractors below.
#[derive(Clone, Debug)]
pub struct KnownSession(pub Option<SessionRow>);

/// The live session of the request's cookie, if any (from the guard's lookup when it ran).
pub async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<SessionRow>, PageError> {
    if let Some(known) = parts.extensions.get::<KnownSession>() {
        return Ok(known.0.clone());
    }
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(state
        .store()
        .session(&token, state.now(), state.settings.session_idle)
        .await?)
}

/// Where a tenant user lives: their customer's portal.
pub const PORTAL: &str = "/portal";

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = PageError;

    /// An admin or a viewer. Nobody signed in goes to the login page; a tenant user, who sees
    /// only their customer's portal, goes there.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Viewer, PageError> {
        let AnyUser(viewer) = AnyUser::from_request_parts(parts, state).await?;
        if viewer.is_tenant() {
            return Err(PageError::Redirect(PORTAL.to_owned()));
        }
        Ok(viewer)
    }
}

/// Anyone signed in, tenant users included: signing out and changing one's own password.
#[derive(Clone, Debug)]
pub struct AnyUser(pub Viewer);

impl FromRequestParts<Arc<AppState>> for AnyUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<AnyUser, PageError> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        match session_of(parts, state).await? {
            Some(session) => Ok(AnyUser(Viewer { session })),
            None => Err(login_or_setup(state, &next).await),
        }
    }
}

async fn login_or_setup(state: &AppState, next: &str) -> PageError {
    match state.store().count_users().await {
        Ok(0) => PageError::Redirect("/setup".to_owned()),
        _ => {
            let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            PageError::Redirect(format!("/login?next={encoded}"))
        }
    }
}

/// Whether `path` is a path of this site that every browser reads the same way: it starts with
/// one `/` and holds only visible ASCII — no backslash (browsers read `/\\host` as `//host`), no
/// control character or space (browsers drop a tab, so `/\t/host` is `//host`), nothing outside
/// ASCII — and at most 2,000 bytes.
pub fn is_local_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.first() == Some(&b'/')
        && bytes.get(1) != Some(&b'/')
        && bytes.len() <= 2000
        && bytes.iter().all(|b| b.is_ascii_graphic() && *b != b'\\')
}

/// Whether `path` is the portal or one of its pages.
pub fn is_portal_path(path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path == PORTAL || path.starts_with("/portal/")
}

/// `path` when it is local (see [`is_local_path`]), else `fallback`.
pub fn local_path_or(path: Option<&str>, fallback: &str) -> String {
    match path {
        Some(path) if is_local_path(path) => path.to_owned(),
        _ => fallback.to_owned(),
    }
}

/// Only local paths are followed after login (no open redirects).
fn safe_next(next: Option<&str>) -> String {
    local_path_or(next, "/")
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
    setup: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct NextParam {
    pub next: Option<String>,
}

fn login_page(
    headers: &HeaderMap,
    page: LoginPage,
    status: axum::http::StatusCode,
) -> Result<Response, PageError> {
    let cookie_value = set_cookie(headers, LOGIN_CSRF_COOKIE, &page.csrf, 3600);
    let mut response = (status, render(&page)?).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie_value);
    Ok(response)
}

pub async fn login_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<NextParam>,
) -> Result<Response, PageError> {
    if state.store().count_users().await? == 0 {
        return Ok(Redirect::to("/setup").into_response());
    }
    login_page(
        &headers,
        LoginPage {
            csrf: random_token(),
            next: safe_next(params.next.as_deref()),
            email: String::new(),
            error: None,
            setup: false,
        },
        axum::http::StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
    #[serde(default)]
    pub csrf: String,
    pub next: Option<String>,
}

fn check_login_csrf(headers: &HeaderMap, form_token: &str) -> Result<(), PageError> {
    match cookie(headers, LOGIN_CSRF_COOKIE) {
        Some(expected) if !form_token.is_empty() && same_secret(&expected, form_token) => Ok(()),
        _ => Err(PageError::Forbidden(
            "the form's security token is missing or out of date; reload the page and try again"
                .to_owned(),
        )),
    }
}

async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: &UserRow,
    next: &str,
) -> Result<Response, PageError> {
    let session = state
        .store()
        .create_session(user, state.now(), state.settings.session_lifetime)
        .await?;
    // A tenant lands on their portal (the only pages open to them).
    let next = if user.role == Role::Tenant && !is_portal_path(next) {
        PORTAL
    } else {
        next
    };
    Ok(redirect_with(
        next,
        vec![
            set_cookie(
                headers,
                SESSION_COOKIE,
                &session.token,
                state.settings.session_lifetime.whole_seconds(),
            ),
            set_cookie(headers, LOGIN_CSRF_COOKIE, "", 0),
        ],
    ))
}

/// Seconds from `now` until `until`, at least one (for `Retry-After`).
pub(crate) fn seconds_until(until: OffsetDateTime, now: OffsetDateTime) -> u64 {
    let seconds = (until - now).as_seconds_f64().ceil();
    if seconds >= 1.0 {
        // Whole seconds of at most a lockout: no truncation to speak of.
        seconds as u64
    } else {
        1
    }
}

/// "2026-11-22 10:15:30 UTC (in 15 minutes)".
pub(crate) fn when(until: OffsetDateTime, now: OffsetDateTime) -> String {
    let seconds = seconds_until(until, now);
    let wait = if seconds < 90 {
        format!("{seconds} seconds")
    } else {
        format!("{} minutes", seconds.div_ceil(60))
    };
    format!(
        "{} {:02}:{:02}:{:02} UTC (in {wait})",
        until.date(),
        until.hour(),
        until.minute(),
        until.second()
    )
}

/// The login page again, with `error`, `status` and (for 429) `Retry-After`.
fn login_again(
    headers: &HeaderMap,
    next: String,
    email: &str,
    error: String,
    status: axum::http::StatusCode,
    retry_after: Option<u64>,
) -> Result<Response, PageError> {
    let mut response = login_page(
        headers,
        LoginPage {
            csrf: random_token(),
            next,
            email: email.chars().take(254).collect(),
            error: Some(error),
            setup: false,
        },
        status,
    )?;
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    Ok(response)
}

/// Signs in. Attempts are throttled per account and per client address (see `throttle`);
/// every failure is logged (never the password), failures on real accounts and lockouts are
/// audited; the password check waits for a hashing slot or answers 429.
pub async fn login(
    State(state): State<Arc<AppState>>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    check_login_csrf(&headers, &form.csrf)?;
    let next = safe_next(form.next.as_deref());
    let email: String = form.email.trim().to_lowercase().chars().take(254).collect();
    let now = state.now();
    if let Verdict::Wait { until, locked } = state.logins.check(&email, client.0, now) {
        tracing::warn!(target: "spendlens::access", email = ?email, client = %client, locked, "sign-in refused: too many failures");
        crate::access::sign_in(
            &state,
            None,
            AccessKind::SignInRefused,
            &email,
            client,
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            if locked {
                "account locked after repeated failures"
            } else {
                "throttled after failed sign-ins"
            },
        )
        .await;
        let why = if locked {
            "This account is locked after too many failed sign-ins"
        } else {
            "Too many failed sign-ins"
        };
        return login_again(
            &headers,
            next,
            &form.email,
            format!("{why}. Try again after {}.", when(until, now)),
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            Some(seconds_until(until, now)),
        );
    }
    let found = state.store().user_for_login(&email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let verified = if password::too_long_to_check(&form.password) {
        false
    } else {
        match state.hasher.verify(form.password, hash).await {
            Ok(verified) => verified,
            Err(crate::passwords::HashError::Busy { retry_after }) => {
                tracing::warn!(target: "spendlens::access", email = ?email, client = %client, "sign-in refused: every hashing slot busy");
                crate::access::sign_in(
                    &state,
                    None,
                    AccessKind::SignInRefused,
                    &email,
                    client,
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    "every password-hashing slot busy",
                )
                .await;
                return login_again(
                    &headers,
                    next,
                    &form.email,
                    format!(
                        "The server is busy checking other sign-ins. Try again in {retry_after} seconds."
                    ),
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    Some(retry_after),
                );
            }
            Err(other) => return Err(other.into()),
        }
    };
    match user {
        Some(user) if verified && user.disabled_at.is_some() => {
            // Said only after the password checked out, so the form tells nothing to a guesser.
            tracing::warn!(target: "spendlens::access", email = ?email, client = %client, "sign-in refused: account disabled");
            crate::access::sign_in(
                &state,
                Some(user.org_id),
                AccessKind::SignInRefused,
                &user.email,
                client,
                axum::http::StatusCode::FORBIDDEN,
                "account disabled",
            )
            .await;
            state
                .store()
                .audit(
                    user.org_id,
                    "sign-in form",
                    "login.disabled",
                    &user.email,
                    &format!("from {client}"),
                    now,
                )
                .await?;
            login_again(
                &headers,
                next,
                &form.email,
                "This account is disabled. Ask an administrator to enable it.".to_owned(),
                axum::http::StatusCode::FORBIDDEN,
                None,
            )
        }
        Some(user) if verified => {
            state.logins.record_success(&email);
            tracing::info!(target: "spendlens::access", email = ?email, client = %client, "signed in");
            crate::access::sign_in(
                &state,
                Some(user.org_id),
                AccessKind::SignIn,
                &user.email,
                client,
                axum::http::StatusCode::SEE_OTHER,
                "",
            )
            .await;
            state
                .store()
                .audit(
                    user.org_id,
                    &user.email,
                    "login",
                    &user.email,
                    &format!("from {client}"),
                    now,
                )
                .await?;
            start_session(&state, &headers, &user, &next).await
        }
        user => {
            let failure = state.logins.record_failure(&email, client.0, now);
            tracing::warn!(target: "spendlens::access", email = ?email, client = %client, failures = failure.failures, "sign-in failed");
            crate::access::sign_in(
                &state,
                user.as_ref().map(|u| u.org_id),
                AccessKind::SignInFailed,
                &email,
                client,
                axum::http::StatusCode::UNAUTHORIZED,
                &format!(
                    "{}failure {} in a row",
                    if user.is_none() {
                        "no such account; "
                    } else {
                        ""
                    },
                    failure.failures
                ),
            )
            .await;
            if let Some(user) = &user {
                state
                    .store()
                    .audit(
                        user.org_id,
                        "sign-in form",
                        "login.failed",
                        &user.email,
                        &format!("from {client}; failure {} in a row", failure.failures),
                        now,
                    )
                    .await?;
            }
            match failure.locked_until {
                Some(until) => {
                    tracing::warn!(target: "spendlens::access", email = ?email, client = %client, "account locked after repeated failed sign-ins");
                    if let Some(user) = &user {
                        state
                            .store()
                            .audit(
                                user.org_id,
                                "sign-in form",
                                "login.lockout",
                                &user.email,
                                &format!(
                                    "{} failed sign-ins in a row, the last from {client}; locked until {}",
                                    failure.failures,
                                    when(until, now)
                                ),
                                now,
                            )
                            .await?;
                    }
                    login_again(
                        &headers,
                        next,
                        &form.email,
                        format!(
                            "Wrong email or password. This account is now locked after too many failed sign-ins; try again after {}.",
                            when(until, now)
                        ),
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        Some(seconds_until(until, now)),
                    )
                }
                None => login_again(
                    &headers,
                    next,
                    &form.email,
                    "Wrong email or password.".to_owned(),
                    axum::http::StatusCode::UNAUTHORIZED,
                    None,
                ),
            }
        }
    }
}

pub async fn setup_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if state.store().count_users().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    login_page(
        &headers,
        LoginPage {
            csrf: random_token(),
            next: "/".to_owned(),
            email: String::new(),
            error: None,
            setup: true,
        },
        axum::http::StatusCode::OK,
    )
}

/// First run: the first user becomes the default organization's admin.
pub async fn setup(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    check_login_csrf(&headers, &form.csrf)?;
    if state.store().count_users().await? > 0 {
        return Err(PageError::Forbidden(
            "setup is done: an admin exists already; sign in instead".to_owned(),
        ));
    }
    let problem = match spendlens_store::normalize_email(&form.email) {
        Err(err) => Some(err.to_string()),
        Ok(email) => check_new_password(&form.password, &form.password_confirm, &email).err(),
    };
    if let Some(problem) = problem {
        return login_page(
            &headers,
            LoginPage {
                csrf: random_token(),
                next: "/".to_owned(),
                email: form.email.chars().take(254).collect(),
                error: Some(capitalize(&problem)),
                setup: true,
            },
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let hash = state.hasher.hash(form.password.clone()).await?;
    let now = state.now();
    let org = state.store().ensure_default_org(now).await?;
    let user = state
        .store()
        .create_first_admin(org, &form.email, &hash, now)
        .await?;
    start_session(&state, &headers, &user, "/").await
}

pub fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    AnyUser(viewer): AnyUser,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.store().delete_session(&token).await?;
    }
    Ok(redirect_with(
        "/login",
        vec![set_cookie(&headers, SESSION_COOKIE, "", 0)],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(
            safe_next(Some("/keys?period=last-7-days")),
            "/keys?period=last-7-days"
        );
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        for probe in [
            "/\t/evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/ /evil.example",
            "/\u{7f}/evil.example",
            "/\u{0}",
            "/caf\u{e9}",
            "//\tevil.example",
            "///evil.example",
            "evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(probe)), "/", "{probe:?}");
            let response = redirect_with(probe, vec![]);
            assert_eq!(response.headers()[header::LOCATION], "/", "{probe:?}");
        }
        assert_eq!(
            redirect_with("/keys?workspace=a%20b", vec![]).headers()[header::LOCATION],
            "/keys?workspace=a%20b"
        );
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; spendlens_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn flashes_survive_the_cookie_round_trip() {
        let headers = HeaderMap::new();
        let value = flash(&headers, "ok", "Renamed \"A; B\" to <C>");
        let raw = value
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut next = HeaderMap::new();
        next.insert(header::COOKIE, HeaderValue::from_str(&raw).unwrap());
        assert_eq!(
            take_flash(&next),
            Some(("ok".to_owned(), "Renamed \"A; B\" to <C>".to_owned()))
        );
    }
}

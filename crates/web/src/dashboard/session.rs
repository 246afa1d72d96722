//! Who is looking: session cookies, roles, CSRF tokens, passwords, and the first-run setup,
//! login and logout pages.
//!
//! A session cookie is HttpOnly, SameSite=Lax and Secure when the request came over TLS (as a
//! proxy says with `X-Forwarded-Proto: https`, or when `SPENDLENS_SECURE_COOKIES=1`). Every form
//! carries a CSRF token: the session's own, or — before login — a random token that must match
//! a cookie (double submit).

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;
use spendlens_store::{Role, SessionRow, UserRow};

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::render;

pub const SESSION_COOKIE: &str = "spendlens_session";
pub const LOGIN_CSRF_COOKIE: &str = "spendlens_login_csrf";
pub const FLASH_COOKIE: &str = "spendlens_flash";
/// How long a login lasts.
pub const SESSION_LIFETIME: time::Duration = time::Duration::days(7);
/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// Hashes a password with argon2id (salted, PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| format!("cannot hash the password: {err}"))
}

/// argon2id with the library's defaults (19 MiB, 2 passes, 1 lane): tens of milliseconds here.
fn argon2() -> Argon2<'static> {
    Argon2::default()
}

/// Whether `password` matches a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks a new password; says what is wrong.
pub fn check_new_password(password: &str, confirm: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!(
            "the password needs at least {MIN_PASSWORD} characters"
        ));
    }
    if password.len() > 1024 {
        return Err("the password is too long (at most 1024 bytes)".to_owned());
    }
    if password != confirm {
        return Err("the two passwords differ".to_owned());
    }
    Ok(())
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
    std::env::var("SPENDLENS_SECURE_COOKIES").as_deref() == Ok("1")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
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

/// A redirect that also sets cookies.
pub fn redirect_with(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = Redirect::to(to).into_response();
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

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Viewer, PageError> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(login_or_setup(state, &next).await);
        };
        match state.store().session(&token, state.now()).await? {
            Some(session) => Ok(Viewer { session }),
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

/// Only local paths are followed after login (no open redirects).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
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
        .create_session(user, state.now(), SESSION_LIFETIME)
        .await?;
    Ok(redirect_with(
        next,
        vec![
            set_cookie(
                headers,
                SESSION_COOKIE,
                &session.token,
                SESSION_LIFETIME.whole_seconds(),
            ),
            set_cookie(headers, LOGIN_CSRF_COOKIE, "", 0),
        ],
    ))
}

pub async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    check_login_csrf(&headers, &form.csrf)?;
    let next = safe_next(form.next.as_deref());
    let found = state.store().user_for_login(&form.email).await?;
    let password = form.password.clone();
    let verified = match found {
        Some((user, hash)) => {
            // Hashing is slow on purpose: keep it off the async workers.
            let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .unwrap_or(false);
            ok.then_some(user)
        }
        None => {
            // Spend the same time on unknown emails, so timing does not reveal accounts.
            let _ = tokio::task::spawn_blocking(move || hash_password(&password)).await;
            None
        }
    };
    match verified {
        Some(user) => {
            let now = state.now();
            state
                .store()
                .audit(user.org_id, &user.email, "login", &user.email, "", now)
                .await?;
            start_session(&state, &headers, &user, &next).await
        }
        None => login_page(
            &headers,
            LoginPage {
                csrf: random_token(),
                next,
                email: form.email.chars().take(254).collect(),
                error: Some("Wrong email or password.".to_owned()),
                setup: false,
            },
            axum::http::StatusCode::UNAUTHORIZED,
        ),
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
        Ok(_) => check_new_password(&form.password, &form.password_confirm).err(),
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
    let password = form.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .map_err(PageError::Internal)?;
    let now = state.now();
    let org = state.store().ensure_default_org(now).await?;
    let user = state
        .store()
        .create_user(org, &form.email, &hash, Role::Admin, now)
        .await?;
    state
        .store()
        .audit(
            org,
            &user.email,
            "user.create",
            &user.email,
            "role=admin (first-run setup)",
            now,
        )
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
    viewer: Viewer,
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
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(
            safe_next(Some("/keys?period=last-7-days")),
            "/keys?period=last-7-days"
        );
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
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

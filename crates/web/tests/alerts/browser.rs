//! A signed-in dashboard user for the alerts suite: login with the CSRF cookie dance, GET and
//! form POST with the session cookie, no redirects followed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use spendlens_store::{OrgId, Role, Store};
use spendlens_web::dashboard::session::hash_password;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: String,
    pub csrf: String,
}

fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let pair = v.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

impl Browser {
    /// Adds the user and signs in.
    pub async fn sign_in(
        store: &Store,
        org: OrgId,
        base: &str,
        email: &str,
        role: Role,
    ) -> Browser {
        store
            .create_user(
                org,
                email,
                &hash_password(PASSWORD).unwrap(),
                role,
                crate::alerts_harness::NOW,
            )
            .await
            .unwrap();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client.get(format!("{base}/login")).send().await.unwrap();
        let login_cookie = cookie_of(&response, "spendlens_login_csrf").unwrap();
        let csrf = csrf_in(&response.text().await.unwrap());
        let response = client
            .post(format!("{base}/login"))
            .header(COOKIE, format!("spendlens_login_csrf={login_cookie}"))
            .form(&[
                ("email", email),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("next", "/cost/alerts"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login failed");
        let session = cookie_of(&response, "spendlens_session").unwrap();
        let mut browser = Browser {
            client,
            base: base.to_owned(),
            cookie: format!("spendlens_session={session}"),
            csrf: String::new(),
        };
        let (_, page) = browser.get("/cost/alerts").await;
        browser.csrf = csrf_in(&page);
        browser
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, String) {
        let mut form: Vec<(&str, &str)> = pairs.to_vec();
        form.push(("csrf", &self.csrf));
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }
}

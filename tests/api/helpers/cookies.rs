//! Browser sessions as a browser would drive them: a request carrying the
//! `__Host-refresh_token` cookie (and an `Origin`), and the `Set-Cookie` headers of the
//! answer, read attribute by attribute.

use serde_json::{Value, json};

use super::{AUTH_FIELDS, Api, Response, request::Request};

/// The refresh cookie's name.
pub const COOKIE: &str = "__Host-refresh_token";

/// One `Set-Cookie` header: the cookie's name and value, and its attributes, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub attributes: Vec<String>,
}

impl SetCookie {
    /// Whether this header tells the browser to drop the cookie.
    pub fn clears(&self) -> bool {
        self.value.is_empty() && self.attributes.contains(&"Max-Age=0".to_owned())
    }
}

impl Response {
    /// Every `Set-Cookie` header, in order.
    pub fn set_cookies(&self) -> Vec<SetCookie> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|value| {
                let text = value.to_str().expect("an ASCII Set-Cookie");
                let mut parts = text.split(';').map(str::trim);
                let (name, value) = parts
                    .next()
                    .and_then(|pair| pair.split_once('='))
                    .unwrap_or_else(|| panic!("name=value in {text:?}"));
                let mut attributes: Vec<String> = parts.map(str::to_owned).collect();
                attributes.sort();
                SetCookie {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    attributes,
                }
            })
            .collect()
    }

    /// The one `Set-Cookie` of this answer, which must set the refresh cookie: its value.
    pub fn new_cookie(&self) -> String {
        let cookies = self.set_cookies();
        assert_eq!(cookies.len(), 1, "one Set-Cookie: {cookies:?}");
        assert_eq!(cookies[0].name, COOKIE, "{cookies:?}");
        assert!(
            !cookies[0].clears(),
            "a cookie set, not cleared: {cookies:?}"
        );
        cookies[0].value.clone()
    }

    /// Asserts that the answer's one `Set-Cookie` clears the refresh cookie.
    pub fn assert_clears_cookie(&self) {
        let cookies = self.set_cookies();
        assert_eq!(cookies.len(), 1, "one Set-Cookie: {cookies:?}");
        assert_eq!(cookies[0].name, COOKIE, "{cookies:?}");
        assert!(cookies[0].clears(), "a clearing cookie: {cookies:?}");
    }

    /// Asserts that the answer sets no cookie.
    pub fn assert_no_cookie(&self) {
        assert_eq!(self.set_cookies(), vec![], "no Set-Cookie");
    }
}

impl Request {
    /// `Cookie: __Host-refresh_token={value}`.
    pub fn cookie(self, value: &str) -> Request {
        self.header("cookie", &format!("{COOKIE}={value}"))
    }
}

/// `refreshSession` without an argument (the cookie's way), every payload field.
pub fn refresh_query() -> String {
    format!("mutation {{ refreshSession {{ {AUTH_FIELDS} }} }}")
}

impl Api {
    /// Logs in (or signs up, with `signup`) asking for a cookie session; returns the answer.
    pub async fn cookie_login(&self, email: &str, password: &str, signup: bool) -> Response {
        let (field, input) = if signup {
            ("signup", "SignupInput")
        } else {
            ("login", "LoginInput")
        };
        let query = format!("mutation($i: {input}!) {{ {field}(input: $i) {{ {AUTH_FIELDS} }} }}");
        let input =
            json!({ "i": { "email": email, "password": password, "refreshTokenCookie": true } });
        self.request(&query).variables(input).send().await
    }

    /// Signs up `email` in a cookie session; returns the access token and the cookie.
    pub async fn cookie_signup(&self, email: &str, password: &str) -> (String, String) {
        let response = self.cookie_login(email, password, true).await;
        let payload = response.data()["signup"].clone();
        assert_eq!(payload["refreshToken"], Value::Null, "{payload}");
        let access = payload["accessToken"].as_str().expect("an access token");
        (access.to_owned(), response.new_cookie())
    }

    /// `refreshSession` without an argument, carrying `cookie` (none: no `Cookie` header).
    pub async fn cookie_refresh(&self, cookie: Option<&str>) -> Response {
        let request = self.request(&refresh_query());
        match cookie {
            Some(cookie) => request.cookie(cookie).send().await,
            None => request.send().await,
        }
    }
}

//! The one request builder. `api.request(query)` starts a GraphQL operation on `/graphql`,
//! `api.at(path)` a request to any route; `.token()`, `.variables()`, `.extensions()`,
//! `.header()` and `.body()` shape it; `.send()` POSTs it, `.get()` GETs it (a GraphQL
//! operation then travels in the query string). The answer is a [`Response`]: status,
//! headers, raw text.

use std::net::SocketAddr;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::assert_no_leak;

/// The client side of a server under test: a reqwest client and the server's address.
/// `TestApp` and `Process` both dereference to one.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub addr: SocketAddr,
}

impl Api {
    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A GraphQL operation for `/graphql`.
    pub fn request(&self, query: &str) -> Request {
        let mut request = self.at("/graphql");
        request.operation.insert("query".into(), json!(query));
        request
    }

    /// A body for `/graphql` sent as it is, as `application/json`.
    pub fn raw_json(&self, body: impl Into<Vec<u8>>) -> Request {
        let request = self
            .at("/graphql")
            .header("content-type", "application/json");
        request.body(body)
    }

    /// A request to `path`, with no body until [`Request::body`] gives one.
    pub fn at(&self, path: &str) -> Request {
        Request {
            api: self.clone(),
            path: path.to_owned(),
            operation: Map::new(),
            raw: None,
            headers: HeaderMap::new(),
        }
    }

    /// POSTs a GraphQL request; returns the status and the JSON body.
    pub async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let response = self.request(query).maybe_token(token).variables(variables);
        let response = response.send().await;
        (response.status, response.json())
    }

    /// A request that must succeed: HTTP 200 and no errors. Returns `data`.
    pub async fn gql_ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let request = self.request(query).maybe_token(token).variables(variables);
        request.send().await.data()
    }

    /// A request that must fail with a GraphQL error in an HTTP 200. Returns the first
    /// error after checking that the body leaks no internals.
    pub async fn gql_err(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let request = self.request(query).maybe_token(token).variables(variables);
        request.send().await.error()
    }
}

/// A request being built; see the module's overview.
#[must_use = "a request does nothing until it is sent"]
pub struct Request {
    api: Api,
    path: String,
    /// `query`, `variables` and `operationName` of a GraphQL operation.
    operation: Map<String, Value>,
    raw: Option<Vec<u8>>,
    headers: HeaderMap,
}

impl Request {
    /// `Authorization: Bearer {token}`.
    pub fn token(self, token: &str) -> Request {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// [`Request::token`] when there is one; anonymous otherwise.
    pub fn maybe_token(self, token: Option<&str>) -> Request {
        match token {
            Some(token) => self.token(token),
            None => self,
        }
    }

    /// The operation's variables.
    pub fn variables(mut self, variables: Value) -> Request {
        self.operation.insert("variables".into(), variables);
        self
    }

    /// The operation's `operationName`.
    pub fn operation_name(mut self, name: &str) -> Request {
        self.operation.insert("operationName".into(), json!(name));
        self
    }

    /// The operation's `extensions` (as a persisted-query hash travels).
    pub fn extensions(mut self, extensions: Value) -> Request {
        self.operation.insert("extensions".into(), extensions);
        self
    }

    /// A header; a second value for the same name replaces the first.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
        let value = HeaderValue::from_str(value).expect("a valid header value");
        self.headers.insert(name, value);
        self
    }

    /// A raw body sent as it is, in place of the operation's JSON (no `Content-Type` is
    /// added).
    pub fn body(mut self, raw: impl Into<Vec<u8>>) -> Request {
        self.raw = Some(raw.into());
        self
    }

    /// POSTs the request; panics when no answer comes.
    pub async fn send(self) -> Response {
        self.try_send().await.expect("the server answers")
    }

    /// POSTs the request; `Err` when no whole answer comes.
    pub async fn try_send(self) -> Result<Response, Failure> {
        self.run(Method::POST).await
    }

    /// GETs the request (a GraphQL operation in the query string); panics when no answer
    /// comes.
    pub async fn get(self) -> Response {
        self.run(Method::GET).await.expect("the server answers")
    }

    /// Sends the request with `method`; panics when no answer comes.
    pub async fn method(self, method: Method) -> Response {
        self.run(method).await.expect("the server answers")
    }

    async fn run(self, method: Method) -> Result<Response, Failure> {
        let Request {
            api,
            path,
            operation,
            raw,
            mut headers,
        } = self;
        let mut builder = api.client.request(method.clone(), api.url(&path));
        if let Some(raw) = raw {
            builder = builder.body(raw);
        } else if method == Method::GET {
            let query: Vec<(String, String)> = operation
                .into_iter()
                .map(|(key, value)| match value {
                    Value::String(text) => (key, text),
                    other => (key, other.to_string()),
                })
                .collect();
            builder = builder.query(&query);
        } else if !operation.is_empty() {
            if !headers.contains_key(CONTENT_TYPE) {
                let json = HeaderValue::from_static("application/json");
                headers.insert(CONTENT_TYPE, json);
            }
            builder = builder.body(Value::Object(operation).to_string());
        }
        let response = builder
            .headers(headers)
            .send()
            .await
            .map_err(|err| Failure::NoAnswer(format!("{err:?}")))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|err| Failure::CutBody(status, format!("{err:?}")))?;
        Ok(Response {
            status,
            headers,
            text,
        })
    }
}

/// Why a request got no whole answer.
#[derive(Debug)]
pub enum Failure {
    /// No response began: the connection was refused, reset or closed first.
    NoAnswer(String),
    /// A response began with this status, but its body was cut.
    CutBody(StatusCode, String),
}

/// A whole answer: its status, its headers and its body as sent.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Response {
    /// The body as JSON; panics (showing the body) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|err| panic!("a JSON body ({err}), got {}: {}", self.status, self.text))
    }

    /// A header's value; panics when it is not ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        let value = self.headers.get(name)?;
        Some(value.to_str().expect("an ASCII header value"))
    }

    /// The `data` of an answer that must succeed: HTTP 200 and no errors.
    pub fn data(&self) -> Value {
        let body = self.json();
        assert_eq!(self.status, StatusCode::OK, "HTTP status: {body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// The first error of an answer that must fail in an HTTP 200, after checking that the
    /// body leaks no internals.
    pub fn error(&self) -> Value {
        let body = self.json();
        assert_no_leak(&body);
        assert_eq!(self.status, StatusCode::OK, "HTTP status: {body}");
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("errors expected: {body}"));
        assert!(!errors.is_empty(), "errors expected: {body}");
        errors[0].clone()
    }
}

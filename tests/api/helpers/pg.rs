//! A PostgreSQL database per test: created from `TEST_DATABASE_URL`, dropped on drop.

/// A PostgreSQL database created for one test and dropped with it.
pub struct PgDatabase {
    pub admin_url: String,
    pub name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop cannot await, and the test's runtime may be shutting down: use a thread
        // with its own runtime.
        let joined = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            runtime.block_on(async move {
                match tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
                    Ok((client, connection)) => {
                        tokio::spawn(connection);
                        if let Err(err) = client.batch_execute(&sql).await {
                            eprintln!("could not drop the test database: {err}");
                        }
                    }
                    Err(err) => eprintln!("could not connect to drop the test database: {err}"),
                }
            });
        })
        .join();
        if joined.is_err() {
            eprintln!("the thread dropping the test database panicked");
        }
    }
}

/// Creates an empty database `t_<uuid>` next to `admin_url`'s.
pub async fn create_pg_database(admin_url: &str) -> PgDatabase {
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|err| panic!("TEST_DATABASE_URL is unreachable ({admin_url}): {err}"));
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("CREATE DATABASE for the test");
    PgDatabase {
        admin_url: admin_url.to_owned(),
        name,
    }
}

/// `admin_url` with its database name replaced by `name` (query string kept).
pub fn database_url_for(admin_url: &str, name: &str) -> String {
    let mut url = reqwest::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A `LISTEN` on one channel of a test's PostgreSQL database: the payloads, in order.
pub struct PgListener {
    payloads: tokio::sync::mpsc::UnboundedReceiver<String>,
    _client: tokio_postgres::Client,
}

impl PgListener {
    /// Listens on `channel` of the database at `url`.
    pub async fn start(url: &str, channel: &str) -> PgListener {
        use futures_util::StreamExt as _;
        let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("a listening connection");
        let (tx, payloads) = tokio::sync::mpsc::unbounded_channel();
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        tokio::spawn(async move {
            while let Some(Ok(message)) = messages.next().await {
                if let tokio_postgres::AsyncMessage::Notification(n) = message {
                    let _ = tx.send(n.payload().to_owned());
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN \"{channel}\""))
            .await
            .expect("LISTEN");
        PgListener {
            payloads,
            _client: client,
        }
    }

    /// The next payload, waiting up to `wait`; `None` when none came.
    pub async fn next(&mut self, wait: std::time::Duration) -> Option<String> {
        tokio::time::timeout(wait, self.payloads.recv())
            .await
            .ok()
            .flatten()
    }
}

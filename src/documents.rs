//! The document cache: each distinct GraphQL document is parsed and checked against the
//! limits once, for every transport, and what came of it (the parsed document, or the
//! refusal) is kept under the SHA-256 of its text. A request that sends the document again
//! gets a copy of the parsed document handed to async-graphql, so nothing is parsed twice;
//! a refused document is refused again from the cache. The same hash is the key of
//! Apollo's automatic persisted queries (`persisted`), so a request may name a document the
//! server has seen by its hash alone.
//!
//! Only the size limit runs before the cache, since it is cheaper than hashing. The
//! operation a request picks (`operationName`) is found per request in the cached document:
//! the same document may be sent with different operation names.
//!
//! An entry also remembers whether its document passed async-graphql's full validation,
//! where that cannot depend on the request ([`Validity`]): the executor then runs only the
//! checks that can.
//!
//! The cache is bounded by entries and by bytes of document text at once: each entry
//! weighs its text's length, but at least an equal share of the byte budget, so no more
//! than the configured number of entries ever fits.

mod persisted;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::{
    Request, ServerError,
    parser::types::{ExecutableDocument, OperationType},
};
use quick_cache::{DefaultHashBuilder, Lifecycle, Weighter, sync::Cache};
use sha2::{Digest as _, Sha256};

use crate::{
    error::AppError,
    graphql::{Inspection, Limits, Vetted},
    metrics::Metrics,
};

/// The SHA-256 of a document's text.
type Hash = [u8; 32];

/// The document cache's bounds.
#[derive(Debug, Clone, Copy)]
pub struct CacheSize {
    /// Most documents kept.
    pub entries: usize,
    /// Most bytes of document text kept (the parsed form takes a few times more memory).
    pub bytes: usize,
}

/// A vetted document and the weight it was admitted with.
struct Entry {
    vetted: Vetted,
    weight: u64,
    /// Its operation passed async-graphql's full validation (see [`Validity`]).
    valid: AtomicBool,
}

/// Whether a document whose one operation declares no variables is known to pass
/// async-graphql's full validation. For such a document the rules see nothing but the
/// document and the schema (the one rule that reads variable values finds none to read,
/// and unused extra variables are ignored), so the verdict of one run holds for every
/// later one; what can still differ (the cost, and the time limit) is checked every time.
#[derive(Clone)]
pub(crate) struct Validity(Arc<Entry>);

impl Validity {
    /// The document passed before.
    pub(crate) fn known(&self) -> bool {
        self.0.valid.load(Ordering::Relaxed)
    }

    /// The document has just passed.
    pub(crate) fn record(&self) {
        self.0.valid.store(true, Ordering::Relaxed);
    }
}

/// Whether the request's operation is one whose validation cannot depend on the request:
/// the document's only operation, a query or mutation, declaring no variables, picked by
/// its own name or by none.
fn request_independent(document: &ExecutableDocument, wanted: Option<&str>) -> bool {
    let mut operations = document.operations.iter();
    let (Some((name, operation)), None) = (operations.next(), operations.next()) else {
        return false;
    };
    let picked = match (wanted, name) {
        (None, _) => true,
        (Some(wanted), Some(name)) => wanted == name.as_str(),
        (Some(_), None) => false,
    };
    picked
        && operation.node.variable_definitions.is_empty()
        && operation.node.ty != OperationType::Subscription
}

#[derive(Clone)]
struct ByWeight;

impl Weighter<Hash, Arc<Entry>> for ByWeight {
    fn weight(&self, _: &Hash, entry: &Arc<Entry>) -> u64 {
        entry.weight
    }
}

/// Counts evictions. An entry too large to be admitted at all is reported the same way.
#[derive(Clone)]
struct CountEvictions(Arc<Metrics>);

impl Lifecycle<Hash, Arc<Entry>> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, _: &mut (), _: Hash, _: Arc<Entry>) {
        self.0.document_evicted();
    }
}

/// Vets the documents of requests, each distinct one once; see the module's overview.
#[derive(Clone)]
pub(crate) struct Documents {
    limits: Limits,
    cache: Arc<Cache<Hash, Arc<Entry>, ByWeight, DefaultHashBuilder, CountEvictions>>,
    metrics: Arc<Metrics>,
    /// The least weight of an entry: its share of the byte budget.
    share: u64,
}

impl Documents {
    /// A cache of `size` over documents checked against `limits`, counted in `metrics`.
    pub(crate) fn new(limits: Limits, size: CacheSize, metrics: Arc<Metrics>) -> Self {
        let entries = size.entries.max(1);
        let share = size.bytes.max(1).div_ceil(entries) as u64;
        let lifecycle = CountEvictions(Arc::clone(&metrics));
        let cache = Cache::with(
            entries,
            share.saturating_mul(entries as u64),
            ByWeight,
            DefaultHashBuilder::default(),
            lifecycle,
        );
        Self {
            limits,
            cache: Arc::new(cache),
            metrics,
            share,
        }
    }

    /// What a request's document is, and whether it must be refused: the document comes
    /// from the cache, or is vetted and cached; a persisted-query hash is resolved first.
    /// A document that may run is handed to the request, parsed.
    pub(crate) fn inspect(&self, request: &mut Request) -> Inspection {
        let entry = match self.entry(request) {
            Ok(entry) => entry,
            Err(refusal) => {
                return Inspection {
                    operation: None,
                    refusal: Some(refusal),
                    validity: None,
                };
            }
        };
        let wanted = request.operation_name.as_deref();
        let mut inspection = entry.vetted.inspect(wanted);
        if let (None, Some(document)) = (&inspection.refusal, &entry.vetted.document) {
            if request_independent(document, wanted) {
                inspection.validity = Some(Validity(Arc::clone(&entry)));
            }
            request.set_parsed_query(document.clone());
        }
        inspection
    }

    /// The cache entry of a request's document, or why there is none to give.
    fn entry(&self, request: &Request) -> Result<Arc<Entry>, ServerError> {
        let persisted = persisted::requested(&request.extensions)?;
        let query = request.query.as_str();
        if let (Some(hash), true) = (persisted, query.is_empty()) {
            return self
                .lookup(&hash)
                .ok_or_else(|| AppError::PersistedQueryNotFound.to_server_error("-"));
        }
        self.limits.check_size(query)?;
        let hash: Hash = Sha256::digest(query.as_bytes()).into();
        if persisted.is_some_and(|sent| sent != hash) {
            return Err(AppError::bad_input(
                "extensions.persistedQuery.sha256Hash",
                "sha256Hash is not the SHA-256 of the query (64 lower-case hexadecimal digits)",
            )
            .to_server_error("-"));
        }
        Ok(self.lookup(&hash).unwrap_or_else(|| {
            let entry = Arc::new(Entry {
                vetted: self.limits.vet(query),
                weight: (query.len() as u64).max(self.share),
                valid: AtomicBool::new(false),
            });
            self.cache.insert(hash, Arc::clone(&entry));
            entry
        }))
    }

    fn lookup(&self, hash: &Hash) -> Option<Arc<Entry>> {
        let found = self.cache.get(hash);
        self.metrics.document_lookup(found.is_some());
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        depth: 10,
        introspection_depth: 20,
        aliases: 15,
        selections: 250,
        fields: 2000,
        directives: 10,
        bytes: 16 * 1024,
        tokens: 2000,
        introspection: true,
    };

    fn documents(entries: usize, bytes: usize) -> Documents {
        let metrics = Arc::new(Metrics::new().unwrap_or_else(|e| panic!("{e}")));
        Documents::new(LIMITS, CacheSize { entries, bytes }, metrics)
    }

    #[test]
    fn no_more_entries_than_configured_fit() {
        let cache = documents(4, 1 << 20);
        for i in 0..50 {
            cache.inspect(&mut Request::new(format!("{{ f{i} }}")));
            assert!(cache.cache.len() <= 4, "{} entries", cache.cache.len());
        }
    }

    #[test]
    fn no_more_text_than_configured_is_kept() {
        let cache = documents(1000, 4096);
        let text = |i: usize| format!("{{ f{i} {} }}", "x ".repeat(200));
        for i in 0..50 {
            cache.inspect(&mut Request::new(text(i)));
        }
        let kept: usize = (0..50)
            .filter(|i| {
                let hash: Hash = Sha256::digest(text(*i).as_bytes()).into();
                cache.cache.peek(&hash).is_some()
            })
            .map(|i| text(i).len())
            .sum();
        assert!(kept > 0 && kept <= 4096 + 1000, "{kept} bytes kept");
    }

    #[test]
    fn a_hit_hands_over_the_parsed_document() {
        let cache = documents(10, 1 << 20);
        let mut first = Request::new("query A { a } query B { b }").operation_name("B");
        assert_eq!(
            cache.inspect(&mut first).operation.and_then(|o| o.name),
            Some("B".into())
        );
        let mut again = Request::new("query A { a } query B { b }").operation_name("A");
        let inspection = cache.inspect(&mut again);
        assert_eq!(inspection.operation.and_then(|o| o.name), Some("A".into()));
        // Broken text: only the document handed over can still be read back.
        again.query = "{".into();
        assert!(
            again
                .parsed_query()
                .is_ok_and(|d| d.operations.iter().count() == 2)
        );
        assert_eq!(cache.cache.len(), 1);
    }

    #[test]
    fn only_a_lone_operation_without_variables_is_request_independent() {
        let independent = |text: &str, wanted: Option<&str>| {
            let document =
                async_graphql::parser::parse_query(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            request_independent(&document, wanted)
        };
        assert!(independent("{ a }", None));
        assert!(independent("query A { a }", None));
        assert!(independent("query A { a }", Some("A")));
        assert!(independent("mutation M { a }", None));
        assert!(!independent("query A { a }", Some("B")));
        assert!(!independent("{ a }", Some("A")));
        assert!(!independent("query A($v: Int) { a(v: $v) }", None));
        assert!(!independent("query A { a } query B { b }", Some("A")));
        assert!(!independent("subscription S { a }", None));
    }
}

//! The parsers of settings that are more than a number or a word: rates, durations,
//! secrets, address lists and depths.

use std::{net::IpAddr, time::Duration};

use secrecy::SecretString;

/// A rate: at most `count` events per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Events allowed per period.
    pub count: u32,
    /// The period.
    pub period: Duration,
}

/// A rate limit setting: a rate, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit(pub Option<Rate>);

/// Parses `N/duration` (`30/5m`) or `off`.
pub(super) fn parse_rate(value: &str) -> Result<RateLimit, String> {
    if value.trim().eq_ignore_ascii_case("off") {
        return Ok(RateLimit(None));
    }
    let (count, period) = value
        .split_once('/')
        .ok_or_else(|| format!("expected N/duration such as 30/5m, or off; got {value:?}"))?;
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|_| format!("bad count in {value:?}"))?;
    let period = parse_duration(period.trim())?;
    if count == 0 || period.is_zero() {
        return Err("a rate needs a positive count and period; use `off` to disable".into());
    }
    Ok(RateLimit(Some(Rate { count, period })))
}

/// A secret: kept out of `Debug`, and so out of every log line.
pub(super) fn parse_secret(value: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(value.trim()))
}

/// A comma-separated list of IP addresses; empty items (and an empty list) are allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpList(pub Vec<IpAddr>);

pub(super) fn parse_ips(value: &str) -> Result<IpList, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse()
                .map_err(|_| format!("{item:?} is not an IP address"))
        })
        .collect::<Result<_, _>>()
        .map(IpList)
}

/// A depth limit: 1 to 48, below the bracket nesting the parser is ever given.
pub(super) fn parse_depth(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(depth) if (1..=48).contains(&depth) => Ok(depth),
        _ => Err(format!("expected a depth from 1 to 48, got {value:?}")),
    }
}

pub(super) fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| e.to_string())
}

//! Without the `metrics` feature there is no Prometheus exposition and no HTTP listener
//! (nor prometheus-client and hyper to build): the node's hooks for metrics take a
//! [`Metrics`] that cannot exist, so they compile to nothing. `metrics_listen` in the
//! configuration is then refused at start.

use std::sync::Arc;

use crate::observe::Direction;
use crate::peer::PeerState;

/// No metrics: a type without values.
#[derive(Debug)]
pub(crate) enum Metrics {}

impl Metrics {
    pub(crate) fn message(&self, _peer: &str, _direction: Direction, _bytes: &[u8]) {
        match *self {}
    }

    pub(crate) fn peer_state(&self, _peer: &str, _state: PeerState) {
        match *self {}
    }

    pub(crate) fn forget_peer(&self, _peer: &str) {
        match *self {}
    }
}

/// No metrics to set up; a `metrics_listen` address is a configuration error.
pub(crate) async fn setup(
    _enabled: bool,
    config: &crate::NodeConfig,
) -> Result<(Option<Arc<Metrics>>, Option<std::convert::Infallible>), crate::NodeError> {
    match config.metrics_listen {
        Some(_) => Err(crate::config::ConfigError::MetricsNotBuilt.into()),
        None => Ok((None, None)),
    }
}

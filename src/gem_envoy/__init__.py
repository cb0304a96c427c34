"""gem-envoy: the enphase_envoy driver of GEM, its host and a gateway simulator."""

__version__ = "0.1.0"

"""`supportbot eval`: retrieval quality, decline accuracy, citation validity and latency on real
question sets, each figure beside simple baselines computed in the same run."""

"""From a question to a cited answer: standalone question, retrieval, grounding, generation."""

"""Dataset acquisition and preparation: download, loading, filtering."""

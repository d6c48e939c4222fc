"""Where apps run: a Kubernetes namespace each, or nowhere (`none`)."""

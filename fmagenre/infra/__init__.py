"""Infrastructure every stage shares: params, the parallel map, stores, atomic writes, paths, locks."""

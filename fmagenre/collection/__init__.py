"""A user's own labelled music as a dataset (data.subset: folder): listed, checked, split."""

"""Reading a whole archive into a result store, resumably, in local processes or on a Dask
cluster."""

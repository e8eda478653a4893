"""What a deployment should be: the profile and its checks, the catalog, prices, time to live."""

"""ShopAssist: a local, grounded e-commerce customer-service assistant."""

__version__ = "0.1.0"

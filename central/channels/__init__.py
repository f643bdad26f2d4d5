"""Customer chat channels (Zalo Official Account, WeChat Official Account): ``dk``/``huy``
registration of accounts, menu queries answered from the records, and bill notices."""

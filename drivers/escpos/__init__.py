"""ESC/POS documents: bill notices and receipts as data, rendered to printer bytes.

``documents`` holds the content models, ``template`` the utility's layout (TOML data),
``profile`` what a printer can do, ``raster`` text → 1-bit bitmaps, ``commands`` the byte
builders, ``layout`` document + template → lines, ``encode`` lines + profile → bytes.
"""

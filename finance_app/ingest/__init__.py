"""CSV import: `parsing` turns an uploaded bank export into rows; `service` writes them."""

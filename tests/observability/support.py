"""Reading /metrics as a scraper does, and the rest the observability tests share."""
import io

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """One scrape of /metrics: every sample by name and labels."""

    def __init__(self, text):
        self.samples = {(s.name, frozenset(s.labels.items())): s.value
                        for family in text_string_to_metric_families(text)
                        for s in family.samples}

    def value(self, name, **labels):
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def series(self, name):
        """{labels: value} of every sample named `name`."""
        return {labels: value for (sample, labels), value in self.samples.items()
                if sample == name}

    def delta(self, earlier, name, **labels):
        return self.value(name, **labels) - earlier.value(name, **labels)


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return Scrape(response.get_data(as_text=True))


def csv_upload(client, rows):
    """POST /api/ingest with a CSV of (date, description, amount) rows."""
    body = "Date,Description,Amount\n" + "".join(f"{d},{text},{amount}\n"
                                                  for d, text, amount in rows)
    return client.post("/api/ingest", data={"file": (io.BytesIO(body.encode()), "bank.csv")},
                       content_type="multipart/form-data")

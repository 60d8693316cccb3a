"""Understanding items: language, sentiment, intent, spam, toxicity and entities."""

/* Any bytes as a model's config.json and as the settings object of a checkpoint's mltc.json. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "model/bert_config.h"
#include "run/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = fuzz_string(data, size);
    if (!json) return 0;
    mltc_error err = {0};
    bert_config cfg;
    mltc_status st = bert_config_parse(&err, json, "config.json", &cfg);
    fuzz_expect_message(st, &err, "bert_config_parse");
    if (!st) {
        /* what was accepted passes the checks and survives a round trip */
        char *again = bert_config_to_json(&cfg);
        bert_config cfg2;
        if (!again || bert_config_parse(&err, again, "again", &cfg2) || cfg2.hidden_size != cfg.hidden_size ||
            cfg2.vocab_size != cfg.vocab_size || cfg2.pad_token_id != cfg.pad_token_id)
            abort();
        free(again);
    }

    cJSON *o = cJSON_Parse(json);
    if (o) {
        train_settings s;
        train_settings_default(&s);
        err.msg[0] = 0;
        st = train_settings_from_json(&err, o, "mltc.json", &s);
        fuzz_expect_message(st, &err, "train_settings_from_json");
        if (!st) {
            err.msg[0] = 0;
            fuzz_expect_message(train_settings_check(&err, &s), &err, "train_settings_check");
        }
        cJSON_Delete(o);
    }
    free(json);
    return 0;
}

/* Any bytes as a model's config.json, as a checkpoint's mltc.json, and as the settings object in it. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "model/bert_config.h"
#include "model/checkpoint_meta.h"
#include "model/settings.h"

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

    ckpt_meta meta;
    err.msg[0] = 0;
    st = ckpt_meta_parse(&err, json, "mltc.json", &meta);
    fuzz_expect_message(st, &err, "ckpt_meta_parse");
    if (!st) {
        if (meta.lbl.count < 1) abort();
        fuzz_check_labels(&meta.lbl);
        ckpt_meta_free(&meta);
    } else if (meta.lbl.count || meta.extra) {
        abort(); /* a failed parse leaves nothing behind */
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

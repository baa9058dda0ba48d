# bash completion for oneapictl                                      -*- shell-script -*-
# Install: copy to /usr/share/bash-completion/completions/oneapictl (or source it from ~/.bashrc).
# Keep in sync with `oneapictl --help-all` (tests/cli/cli_consistency_test.cpp checks it).

_oneapictl_global_opts="--socket --json --timeout --help --version"

# Subcommands (for groups) or flags (for commands), by command path.
_oneapictl_words() {
    case "$1" in
        "") echo "status channel token log cost option user redemption completion" ;;
        "status") echo "--help" ;;
        "channel") echo "list get add update enable disable delete test balance types" ;;
        "channel list") echo "--help" ;;
        "channel get") echo "--help" ;;
        "channel add") echo "--type --name --base-url --key --models --group --priority --weight --model-mapping --system-prompt --config --help" ;;
        "channel update") echo "--type --name --base-url --key --models --group --priority --weight --model-mapping --system-prompt --config --help" ;;
        "channel enable") echo "--help" ;;
        "channel disable") echo "--help" ;;
        "channel delete") echo "--help" ;;
        "channel test") echo "--all --disabled --model --help" ;;
        "channel balance") echo "--all --help" ;;
        "channel types") echo "--help" ;;
        "token") echo "list get create update delete" ;;
        "token list") echo "--user --help" ;;
        "token get") echo "--help" ;;
        "token create") echo "--name --quota --unlimited --expires --models --subnet --user --help" ;;
        "token update") echo "--name --quota --unlimited --expires --models --subnet --status --help" ;;
        "token delete") echo "--help" ;;
        "log") echo "list stat purge" ;;
        "log list") echo "--limit --user --token-name --model --channel --since --until --type --help" ;;
        "log stat") echo "--user --token-name --model --channel --since --until --type --help" ;;
        "log purge") echo "--before --help" ;;
        "cost") echo "--help" ;;
        "option") echo "list get set" ;;
        "option list") echo "--help" ;;
        "option get") echo "--help" ;;
        "option set") echo "--help" ;;
        "user") echo "list get add update delete enable disable promote demote topup access-token" ;;
        "user list") echo "--help" ;;
        "user get") echo "--help" ;;
        "user add") echo "--username --password --display-name --group --quota --role --email --aff-code --help" ;;
        "user update") echo "--username --password --display-name --group --quota --role --email --help" ;;
        "user delete") echo "--help" ;;
        "user enable") echo "--help" ;;
        "user disable") echo "--help" ;;
        "user promote") echo "--help" ;;
        "user demote") echo "--help" ;;
        "user topup") echo "--quota --remark --help" ;;
        "user access-token") echo "--help" ;;
        "redemption") echo "create list get disable delete redeem" ;;
        "redemption create") echo "--name --quota --count --csv --help" ;;
        "redemption list") echo "--help" ;;
        "redemption get") echo "--help" ;;
        "redemption disable") echo "--help" ;;
        "redemption delete") echo "--help" ;;
        "redemption redeem") echo "--user --help" ;;
        "completion") echo "--help" ;;
    esac
}

# Flags that take no value; every other flag takes one.
_oneapictl_is_switch() {
    case "$1" in
        --json|--help|-h|--version|--all|--disabled|--unlimited|--csv) return 0 ;;
    esac
    return 1
}

_oneapictl() {
    local cur prev path word i
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"

    # Work out the command path from the words before the cursor, skipping flags and their values.
    path=""
    i=1
    while [[ $i -lt $COMP_CWORD ]]; do
        word="${COMP_WORDS[i]}"
        if [[ "$word" == -* ]]; then
            if [[ "$word" != *=* ]] && ! _oneapictl_is_switch "$word"; then
                i=$((i + 1))
            fi
        else
            local candidate="${path:+$path }$word"
            local children
            children=" $(_oneapictl_words "$path") "
            if [[ "$children" == *" $word "* && "$word" != -* ]]; then
                path="$candidate"
            fi
        fi
        i=$((i + 1))
    done

    # Values of the flag before the cursor.
    case "$prev" in
        --socket)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0 ;;
        --type)
            if [[ "$path" == "log list" || "$path" == "log stat" ]]; then
                COMPREPLY=($(compgen -W "consume topup manage system test all" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "openai api2d azure closeai openai-sb openaimax ohmygpt custom ails aiproxy api2gpt aigc2d anthropic zhipu ai360 openrouter fastgpt gemini moonshot baichuan minimax mistral groq ollama lingyiwanwu stepfun bedrock deepseek cloudflare together doubao novita vertexai siliconflow xai ali-bailian openai-compatible gemini-openai-compatible" -- "$cur"))
            fi
            return 0 ;;
        --status)
            COMPREPLY=($(compgen -W "enabled disabled" -- "$cur"))
            return 0 ;;
        --expires)
            COMPREPLY=($(compgen -W "never 1h 12h 1d 7d 30d 90d" -- "$cur"))
            return 0 ;;
        --role)
            COMPREPLY=($(compgen -W "common admin root" -- "$cur"))
            return 0 ;;
        --since|--until|--before)
            COMPREPLY=($(compgen -W "15m 1h 12h 1d 7d 30d" -- "$cur"))
            return 0 ;;
        --key|--password)
            COMPREPLY=($(compgen -W "-" -- "$cur"))
            return 0 ;;
    esac
    if [[ "$prev" == --* ]] && ! _oneapictl_is_switch "$prev"; then
        return 0  # a free-form value
    fi
    if [[ "$path" == "option get" || "$path" == "option set" ]] && [[ "$prev" == get || "$prev" == set ]] && [[ "$cur" != -* ]]; then
        # Option names are only known to the daemon; ask it quietly.
        local keys
        keys=$(oneapictl option list --json 2>/dev/null | sed -n 's/^ *"key": "\(.*\)",\{0,1\}$/\1/p')
        COMPREPLY=($(compgen -W "$keys" -- "$cur"))
        return 0
    fi

    if [[ "$path" == "completion" && "$prev" == completion && "$cur" != -* ]]; then
        COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur"))
        return 0
    fi

    local words
    words="$(_oneapictl_words "$path")"
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$(printf '%s\n' $words $_oneapictl_global_opts | grep -- '^-' | sort -u)" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$(printf '%s\n' $words | grep -v -- '^-')" -- "$cur"))
    fi
    return 0
}

complete -F _oneapictl oneapictl

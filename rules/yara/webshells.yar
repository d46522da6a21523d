/*
   Generic web shells: server-side script that hands request data to an evaluator or to the
   shell. Written for files arriving in quarantine uploads and web roots of the city's portals.
   Kept generic on purpose (no family names); signature-base holds the family-specific rules.
*/

rule SOC_Webshell_PHP_Request_Eval : webshell
{
    meta:
        description = "PHP code passing request parameters to eval/assert or a command executor (one-line web shells such as China Chopper)"
        author = "soc-pipeline"
        id = "0f8c1d2e-7a55-4c39-b1e4-5c2a9d8e6f01"
        severity = "high"
        mitre_attack = "T1505.003"
    strings:
        $php = "<?" ascii
        $exec = /\b(eval|assert|system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec)\s*\(\s*(@\s*)?(base64_decode\s*\(\s*|str_rot13\s*\(\s*|gzinflate\s*\(\s*|stripslashes\s*\(\s*)*(@\s*)?\$_(POST|GET|REQUEST|COOKIE|SERVER|FILES)\s*\[/ nocase
        $create = /create_function\s*\([^)]{0,40}\$_(POST|GET|REQUEST|COOKIE)/ nocase
        $backtick = /`\s*\$_(POST|GET|REQUEST|COOKIE)\s*\[[^\]]{1,40}\]\s*`/
    condition:
        filesize < 512KB and $php and any of ($exec, $create, $backtick)
}

rule SOC_Webshell_JSP_Runtime_Exec : webshell
{
    meta:
        description = "JSP page running a command taken from a request parameter"
        author = "soc-pipeline"
        id = "3b7e2a90-4d61-4f0b-8e25-7a1c6d9f2e02"
        severity = "high"
        mitre_attack = "T1505.003"
    strings:
        $jsp = "<%" ascii
        $exec = /Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec\s*\(\s*request\s*\.\s*getParameter\s*\(/
        $pb = /new\s+ProcessBuilder\s*\([^;]{0,80}request\s*\.\s*getParameter\s*\(/
    condition:
        filesize < 512KB and $jsp and ($exec or $pb)
}

rule SOC_Webshell_ASPX_Request_Eval : webshell
{
    meta:
        description = "ASP/ASPX page evaluating request data (China Chopper ASPX style)"
        author = "soc-pipeline"
        id = "9d4f6b13-2c80-4a7e-a3d9-1e5b8c7f0a03"
        severity = "high"
        mitre_attack = "T1505.003"
    strings:
        $asp = "<%" ascii
        $eval = /\beval\s*\(\s*Request(\.Item)?\s*[\[(]/ nocase
        $execute = /\bExecute(Global)?\s*\(?\s*Request(\.Form|\.QueryString)?\s*\(/ nocase
    condition:
        filesize < 512KB and $asp and ($eval or $execute)
}

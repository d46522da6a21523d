/*
   EICAR anti-malware test file (https://www.eicar.org/download-anti-malware-testfile/).
   The standard allows the 68-byte string at the very start of a file, optionally followed
   by whitespace, for a total of at most 128 bytes. Used to check the scanning path end to end.
*/

rule SOC_EICAR_Test_File : test
{
    meta:
        description = "EICAR anti-malware test file"
        author = "soc-pipeline"
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
        id = "6b0c5a3e-2f1d-4e8a-9c37-0d5e2b7f4a11"
        severity = "informational"
    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        $eicar at 0 and filesize <= 128
}

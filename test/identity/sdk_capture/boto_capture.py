import datetime, json
from unittest import mock
import boto3, botocore
from botocore.awsrequest import AWSResponse

captured=[]
class Stop(Exception): pass
def before_send(request, **kw):
    captured.append({'method':request.method,'url':request.url,'headers':{k:(v.decode() if isinstance(v,bytes) else v) for k,v in request.headers.items()},'body':(request.body.decode() if isinstance(request.body,bytes) else request.body)})
    raise Stop()
s=boto3.session.Session(aws_access_key_id='AKIAIOSFODNN7EXAMPLE',aws_secret_access_key='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',region_name='eu-central-1')
c=s.client('bedrock-runtime',endpoint_url='http://127.0.0.1:8080')
c.meta.events.register('before-send',before_send)
with mock.patch('botocore.auth.get_current_datetime', return_value=datetime.datetime(2026,11,26,7,12,55)):
    for model in ['anthropic.claude-3-haiku-20240307-v1:0','arn:aws:bedrock:eu-central-1::foundation-model/gpt-5.5']:
        try:
            c.converse(modelId=model,messages=[{'role':'user','content':[{'text':'Hello, world'}]}],inferenceConfig={'maxTokens':64})
        except Stop: pass
    try:
        c.converse_stream(modelId='gpt-5.5',messages=[{'role':'user','content':[{'text':'stream please'}]}])
    except Stop: pass
print(json.dumps(captured,indent=1))
